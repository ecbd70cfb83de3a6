"""The local media store: content-addressed keys, atomic writes, nothing outside its root."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.media.storage import LocalMediaStore, MediaStoreError, content_key

PDF = b"%PDF-1.7\n" + b"x" * 3_000_000  # several chunks


class _BreaksMidway(io.BytesIO):
    """A source whose second read fails, as a dropped upload would."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            raise OSError("connection reset")
        return super().read(size)


async def _read_all(store: LocalMediaStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_a_file_is_stored_under_the_hash_of_its_content(tmp_path: Path) -> None:
    # given a store and a file
    store = LocalMediaStore(tmp_path)
    key = content_key(7, io.BytesIO(PDF))
    # when it is stored twice
    first = await store.put(key, io.BytesIO(PDF))
    second = await store.put(key, io.BytesIO(PDF))
    # then it is written once, under its organization and digest, and reads back whole
    assert (first, second) == (True, False)
    assert key == "7/" + key.split("/")[1]
    assert len(key.split("/")[1]) == 64
    assert _files_under(tmp_path) == [store.path_of(key)]
    assert await store.exists(key)
    assert await _read_all(store, key) == PDF


async def test_the_same_content_in_two_organizations_has_two_keys() -> None:
    assert content_key(1, io.BytesIO(PDF)) != content_key(2, io.BytesIO(PDF))
    assert content_key(1, io.BytesIO(PDF)) == content_key(1, io.BytesIO(PDF))


async def test_a_write_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    # given a store and an upload that breaks after its first chunk
    store = LocalMediaStore(tmp_path)
    key = content_key(7, io.BytesIO(PDF))
    # when it is stored
    with pytest.raises(OSError, match="connection reset"):
        await store.put(key, _BreaksMidway(PDF))
    # then neither the file nor its temporary copy remains
    assert not await store.exists(key)
    assert _files_under(tmp_path) == []


async def test_deleting_removes_the_file_and_a_missing_one_is_fine(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    key = content_key(7, io.BytesIO(PDF))
    await store.put(key, io.BytesIO(PDF))
    await store.delete(key)
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(MediaStoreError, match="missing"):
        await _read_all(store, key)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "7/../../" + "a" * 64,
        "7/" + "A" * 64,
        "7/" + "a" * 63,
        "/7/" + "a" * 64,
        "x/" + "a" * 64,
    ],
)
async def test_a_malformed_key_never_reaches_the_file_system(tmp_path: Path, key: str) -> None:
    store = LocalMediaStore(tmp_path)
    with pytest.raises(MediaStoreError, match="not a media key"):
        await store.put(key, io.BytesIO(PDF))
    with pytest.raises(MediaStoreError, match="not a media key"):
        await store.exists(key)
