"""sweep-media: what a crash between writing a file and committing leaves is removed;
files rows name, and files of uploads that may still be running, stay."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

from services.media.storage import LocalMediaStore
from tests.credentials.factories import create_type, global_id
from tests.media.conftest import MediaApp
from tests.media.files import JPEG, PDF, PNG, post_files, run_cli, stored_files
from tests.world import World

CREATE = """
mutation Create($input: CreateCredentialInput!) {
  createCredential(input: $input) { errors { code } }
}
"""
TWO_HOURS = 2 * 3600


def _age(path: Path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_sweeping_removes_only_old_files_that_no_row_names(
    app: MediaApp, world: World
) -> None:
    # given a committed credential's PDF, written long ago
    type_id = await create_type(app.graphql, world.token("admin"))
    variables = {
        "input": {
            "typeId": type_id,
            "holderId": global_id("User", world.user_ids["employee"]),
            "issueDate": "2026-01-15",
            "expiryDate": "2029-01-15",
        }
    }
    files = {"input.media.0": ("licence.pdf", PDF, "application/pdf")}
    response = await post_files(app.http, CREATE, variables, files, world.token("employee"))
    assert response.json()["data"]["createCredential"]["errors"] == []
    [committed] = stored_files(app.media_dir)
    _age(committed, TWO_HOURS)
    # and what a crash left: an old orphan, a recent one, an old half-written temporary file
    store = LocalMediaStore(app.media_dir)
    old_key = store.key_for(world.north_id, io.BytesIO(PNG))
    recent_key = store.key_for(world.north_id, io.BytesIO(JPEG))
    await store.put(old_key, io.BytesIO(PNG))
    await store.put(recent_key, io.BytesIO(JPEG))
    _age(store.path_of(old_key), TWO_HOURS)
    interrupted = app.media_dir / ".incoming" / "upload-crashed"
    interrupted.write_bytes(PNG[:10])
    _age(interrupted, TWO_HOURS)
    # when the operator sweeps
    result = run_cli(app.settings, "sweep-media")
    # then only the old orphan and the temporary file are gone
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "removed": 1,
        "kept": 1,
        "recent": 1,
        "interrupted_writes": 1,
    }
    assert sorted(stored_files(app.media_dir)) == sorted([committed, store.path_of(recent_key)])
