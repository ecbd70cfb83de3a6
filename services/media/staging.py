"""Keeping the store and the database in agreement around one write transaction.

Files are written before the transaction (a long upload never holds the database's write
lock) and rows name them inside it. Afterwards `settle` repairs what the outcome left:
after a rollback, files written for it that no row names are removed; after a commit,
files whose last row went (removed media, deleted credentials) are removed, and every
file the committed rows name is checked to be there (a concurrent rollback may have
removed identical content an instant earlier) and written again if not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from models.media import select_referenced_keys
from services.media.storage import MediaStore
from services.media.uploads import CheckedFile


@dataclass(frozen=True)
class StagedFile:
    key: str
    filename: str
    content_type: str
    size: int
    source: IO[bytes]


class MediaStaging:
    def __init__(self, store: MediaStore, organization_id: int) -> None:
        self.store = store
        self.organization_id = organization_id
        self.staged: list[StagedFile] = []
        self._written: set[str] = set()
        self._released: set[str] = set()

    async def stage(self, files: Iterable[CheckedFile]) -> list[StagedFile]:
        staged = []
        for file in files:
            # Hashing a large file takes a while: off the event loop.
            key = await asyncio.to_thread(self.store.key_for, self.organization_id, file.source)
            if await self.store.put(key, file.source):
                self._written.add(key)
            staged.append(StagedFile(key, file.filename, file.content_type, file.size, file.source))
        self.staged.extend(staged)
        return staged

    def release(self, keys: Iterable[str]) -> None:
        """Keys whose rows the transaction removed: deleted after a commit, unless another
        row still names the same content."""
        self._released.update(keys)

    async def settle(
        self,
        committed: bool,
        read: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    ) -> None:
        if committed:
            for file in self.staged:
                if not await self.store.exists(file.key):
                    await self.store.put(file.key, file.source)
            candidates = self._released
        else:
            candidates = self._written
        if not candidates:
            return
        async with read() as session:
            referenced = set(await session.scalars(select_referenced_keys(candidates)))
        for key in candidates - referenced:
            await self.store.delete(key)
