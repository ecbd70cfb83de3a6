"""Where media bytes live: a small interface, and the local directory that implements it.

Keys are `<organization id>/<sha256 of the content>`: content-addressed within one
organization, so identical files share one object and a key never names another tenant's
bytes. An S3-compatible store implements the same four methods (PUT of a known key is
atomic there; `put` may skip the upload when the object already exists).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1024 * 1024
_KEY = re.compile(r"^(\d{1,18})/([0-9a-f]{64})$")


class MediaStoreError(RuntimeError):
    """The store cannot do what was asked (a malformed key, a missing object)."""


def content_key(organization_id: int, source: IO[bytes]) -> str:
    """The key of `source`'s content in the organization; reads it from the start and
    leaves it at the start again."""
    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    source.seek(0)
    return f"{organization_id}/{digest.hexdigest()}"


def check_key(key: str) -> tuple[str, str]:
    """The organization and digest parts of a well-formed key; anything else (a path with
    `..` above all) is refused before it reaches a file system or a bucket."""
    match = _KEY.match(key)
    if match is None:
        raise MediaStoreError(f"{key!r} is not a media key (<organization id>/<sha256>)")
    return match.group(1), match.group(2)


class MediaStore(Protocol):
    def key_for(self, organization_id: int, source: IO[bytes]) -> str:
        """The key `source`'s content is stored under in the organization."""

    async def put(self, key: str, source: IO[bytes]) -> bool:
        """Store `source`'s bytes (from its start) under `key` unless the key is already
        present; True when this call wrote it."""

    async def replace(self, key: str, source: IO[bytes]) -> None:
        """Store `source`'s bytes under `key` whether or not it is present, atomically."""

    async def exists(self, key: str) -> bool: ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; MediaStoreError when it is missing."""

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    def listing(self) -> AsyncIterator[tuple[str, datetime]]:
        """Every object's key and when it was last written (for sweeping orphans)."""


class LocalMediaStore:
    """Files under one directory, which must not be served by anything else. Writes go to
    a temporary file in the same directory tree and are renamed into place: a reader sees
    the whole file or none, never a half-written one, even after a crash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def key_for(self, organization_id: int, source: IO[bytes]) -> str:
        return content_key(organization_id, source)

    def path_of(self, key: str) -> Path:
        organization, digest = check_key(key)
        return self.root / organization / digest[:2] / digest

    async def put(self, key: str, source: IO[bytes]) -> bool:
        return await asyncio.to_thread(self._put, self.path_of(key), source)

    async def replace(self, key: str, source: IO[bytes]) -> None:
        await asyncio.to_thread(self._put, self.path_of(key), source, overwrite=True)

    def _put(self, path: Path, source: IO[bytes], overwrite: bool = False) -> bool:
        if path.exists() and not overwrite:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.root / ".incoming"
        temporary.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=temporary, prefix="upload-")
        try:
            with os.fdopen(handle, "wb") as target:
                source.seek(0)
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
            os.replace(name, path)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        source.seek(0)
        return True

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).exists)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise MediaStoreError(f"media {key} is missing from {self.root}") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)

    async def listing(self) -> AsyncIterator[tuple[str, datetime]]:
        for key, modified in await asyncio.to_thread(self._listing):
            yield key, modified

    def _listing(self) -> list[tuple[str, datetime]]:
        found = []
        for path in self.root.glob("*/*/*"):
            key = f"{path.parent.parent.name}/{path.name}"
            if _KEY.match(key) and path.is_file():
                found.append((key, datetime.fromtimestamp(path.stat().st_mtime, UTC)))
        return found

    async def remove_interrupted_writes(self, older_than: datetime) -> int:
        """Delete temporary files a crash left mid-write (a write in progress is younger);
        how many."""

        def remove() -> int:
            removed = 0
            for path in (self.root / ".incoming").glob("upload-*"):
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < older_than:
                    path.unlink(missing_ok=True)
                    removed += 1
            return removed

        return await asyncio.to_thread(remove)
