"""Encryption at rest: files on disk are ciphertext under names that say nothing, the API
serves them as they were uploaded, and a key is rotated without a moment of downtime."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.app import create_app
from server.settings import Settings, SettingsError
from services.media.encryption import EncryptedMediaStore, parse_key
from services.media.storage import LocalMediaStore, MediaStoreError
from tests.clock import TestClock
from tests.conftest import GraphQLClient, http_client_on
from tests.credentials.factories import create_type, global_id
from tests.media.conftest import START
from tests.media.files import PDF, post_files, run_cli, stored_files
from tests.world import World

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
SECRET_PDF = PDF + b"(Licence number WX-771-204) Tj\n" + bytes(100)

CREATE = """
mutation Create($input: CreateCredentialInput!) {
  createCredential(input: $input) {
    credential { id latestVersion { media { url } } }
    errors { code }
  }
}
"""
MEDIA = "query Media($id: ID!) { credential(id: $id) { latestVersion { media { url } } } }"


def _sealed(settings: Settings, *keys: str) -> Settings:
    return replace(settings, media_encryption_keys=keys)


async def _upload(settings: Settings, world: World, clock: TestClock) -> str:
    """The id of a credential submitted with SECRET_PDF through an app on `settings`."""
    async with http_client_on(settings, clock) as http:
        type_id = await create_type(GraphQLClient(http), world.token("admin"))
        variables = {
            "input": {
                "typeId": type_id,
                "holderId": global_id("User", world.user_ids["employee"]),
                "issueDate": "2026-01-15",
                "expiryDate": "2029-01-15",
            }
        }
        files = {"input.media.0": ("licence.pdf", SECRET_PDF, "application/pdf")}
        response = await post_files(http, CREATE, variables, files, world.token("employee"))
        payload = response.json()["data"]["createCredential"]
        assert payload["errors"] == []
        credential_id: str = payload["credential"]["id"]
        return credential_id


async def _download(
    settings: Settings, world: World, clock: TestClock, credential_id: str
) -> tuple[int, bytes]:
    async with http_client_on(settings, clock) as http:
        headers = {"Authorization": f"Bearer {world.token('employee')}"}
        body: dict[str, Any] = (
            await http.post(
                "/graphql",
                json={"query": MEDIA, "variables": {"id": credential_id}},
                headers=headers,
            )
        ).json()
        url = body["data"]["credential"]["latestVersion"]["media"][0]["url"]
        response = await http.get(urlsplit(url).path)
        return response.status_code, response.content


@pytest.fixture
def clock() -> TestClock:
    return TestClock(START)


async def test_files_on_disk_are_unreadable_without_the_key(
    settings: Settings, world: World, clock: TestClock
) -> None:
    # given encryption at rest; when a PDF is uploaded
    sealed = _sealed(settings, KEY_A)
    credential_id = await _upload(sealed, world, clock)
    # then the file on disk holds neither the content nor its digest as a name
    [path] = stored_files(settings.media_dir)
    on_disk = path.read_bytes()
    assert b"WX-771-204" not in on_disk
    assert not on_disk.startswith(b"%PDF")
    assert path.name != hashlib.sha256(SECRET_PDF).hexdigest()
    # and the API serves it as uploaded
    assert await _download(sealed, world, clock, credential_id) == (200, SECRET_PDF)
    # while a store without the key, or with another one, cannot read it
    key = f"{world.north_id}/{path.name}"
    plain = LocalMediaStore(settings.media_dir)
    assert b"".join([c async for c in plain.read(key)]) == on_disk
    other = EncryptedMediaStore(plain, [parse_key(KEY_B)])
    with pytest.raises(MediaStoreError, match="not configured"):
        _ = [c async for c in other.read(key)]


async def test_an_altered_file_does_not_open(
    settings: Settings, world: World, clock: TestClock
) -> None:
    sealed = _sealed(settings, KEY_A)
    credential_id = await _upload(sealed, world, clock)
    [path] = stored_files(settings.media_dir)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    status, _ = await _download(sealed, world, clock, credential_id)
    assert status == 500


def _reseal(settings: Settings, *keys: str) -> subprocess.CompletedProcess[str]:
    return run_cli(settings, "reseal-media", keys=keys)


async def test_rotating_the_key_as_the_readme_says(
    settings: Settings, world: World, clock: TestClock
) -> None:
    # given a file sealed with key A, and one uploaded before encryption was turned on
    old = await _upload(_sealed(settings, KEY_A), world, clock)
    # when key B is added in front of A, every file still opens
    both = _sealed(settings, KEY_B, KEY_A)
    assert await _download(both, world, clock, old) == (200, SECRET_PDF)
    # and reseal-media seals everything with B (a second run has nothing to do)
    first = _reseal(settings, KEY_B, KEY_A)
    second = _reseal(settings, KEY_B, KEY_A)
    assert first.returncode == 0, first.stderr
    assert '"resealed": 1' in first.stdout
    assert '"resealed": 0' in second.stdout
    # then with A dropped the file opens with B alone
    assert await _download(_sealed(settings, KEY_B), world, clock, old) == (200, SECRET_PDF)


async def test_turning_encryption_on_keeps_older_files_readable_until_resealed(
    settings: Settings, world: World, clock: TestClock
) -> None:
    plain = await _upload(settings, world, clock)
    sealed = _sealed(settings, KEY_A)
    assert await _download(sealed, world, clock, plain) == (200, SECRET_PDF)
    assert _reseal(settings, KEY_A).returncode == 0
    [path] = stored_files(settings.media_dir)
    assert b"WX-771-204" not in path.read_bytes()
    assert await _download(sealed, world, clock, plain) == (200, SECRET_PDF)


@pytest.mark.parametrize("key", ["short", base64.urlsafe_b64encode(bytes(16)).decode(), "!!!"])
def test_a_malformed_key_stops_the_service_at_start_up(settings: Settings, key: str) -> None:
    with pytest.raises(SettingsError, match=r"MEDIA_ENCRYPTION_KEYS: .*32 random bytes"):
        create_app(_sealed(settings, key))


def test_reseal_without_keys_is_refused(settings: Settings) -> None:
    result = _reseal(settings)
    assert result.returncode == 2
    assert "needs MEDIA_ENCRYPTION_KEYS" in result.stderr


async def test_the_same_content_is_stored_once_under_a_keyed_name(tmp_path: Path) -> None:
    store = EncryptedMediaStore(LocalMediaStore(tmp_path), [parse_key(KEY_A)])
    key = store.key_for(3, io.BytesIO(SECRET_PDF))
    assert await store.put(key, io.BytesIO(SECRET_PDF))
    assert not await store.put(key, io.BytesIO(SECRET_PDF))
    assert key == store.key_for(3, io.BytesIO(SECRET_PDF))
    assert key != f"3/{hashlib.sha256(SECRET_PDF).hexdigest()}"
