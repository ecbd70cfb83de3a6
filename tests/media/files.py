"""Real multipart requests (the GraphQL multipart request spec) and sample files whose
first bytes are what real photos and PDFs start with."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from server.settings import Settings
from tests.server.process import ROOT, service_env

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
WEBP = b"RIFF\xd0\x00\x00\x00WEBPVP8 " + bytes(200)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n" + bytes(200)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)

File = tuple[str, bytes, str]  # name, content, the Content-Type the client claims


def _set(target: Any, path: list[str], value: object) -> None:
    """Set the value at a dotted path, making the lists and objects on the way."""
    for key, following in zip(path, [*path[1:], None], strict=True):
        index: Any = int(key) if isinstance(target, list) else key
        if isinstance(target, list):
            target.extend([None] * (index + 1 - len(target)))
        if following is None:
            target[index] = value
            return
        if target[index] is None if isinstance(target, list) else index not in target:
            target[index] = [] if following.isdigit() else {}
        target = target[index]


def multipart(
    query: str, variables: dict[str, Any], files: dict[str, File]
) -> tuple[dict[str, str], list[tuple[str, File]]]:
    """The form fields and file parts of a request sending `files` at the variable paths
    given as keys (`input.media.0`): `operations` with nulls there, then `map`."""
    placeholders = copy.deepcopy(variables)
    for path in files:
        _set(placeholders, path.split("."), None)
    operations = json.dumps({"query": query, "variables": placeholders})
    mapping = {str(i): [f"variables.{path}"] for i, path in enumerate(files)}
    parts = [(str(i), file) for i, file in enumerate(files.values())]
    return {"operations": operations, "map": json.dumps(mapping)}, parts


async def post_files(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    files: dict[str, File],
    token: str,
    *,
    preflight: dict[str, str] | None = None,
) -> httpx.Response:
    """POST as an upload client does: multipart, with the token and (unless told
    otherwise) the header that proves the request is not a cross-site form; JSON when
    there is no file."""
    headers = {"Authorization": f"Bearer {token}"}
    if not files:  # nothing to upload: an ordinary JSON request, as clients send it
        return await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    data, parts = multipart(query, variables, files)
    headers.update({"GraphQL-Require-Preflight": "1"} if preflight is None else preflight)
    return await http.post("/graphql", data=data, files=parts, headers=headers)


def stored_files(root: Path) -> list[Path]:
    """Every file under the media directory, temporary ones included."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def run_cli(
    settings: Settings, *args: str, keys: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """`python -m server ARGS` as an operator runs it, on the test's database and media."""
    env = {
        "DATABASE_URL": settings.database_url,
        "MEDIA_DIR": str(settings.media_dir),
        "MEDIA_ENCRYPTION_KEYS": ",".join(keys),
        "LOAD_DEMO_DATA": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=service_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
