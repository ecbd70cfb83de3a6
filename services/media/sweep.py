"""Removing files no row names: what a process that died between writing a file and
settling its transaction leaves behind. Rollbacks and deletions never need it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from services.media.storage import MediaStore


async def sweep(
    store: MediaStore, referenced: Collection[str], older_than: datetime
) -> dict[str, int]:
    """Delete every object that no row names and that was written before `older_than`
    (younger ones may belong to an upload whose transaction is still running)."""
    counts = {"removed": 0, "kept": 0, "recent": 0}
    named = set(referenced)
    async for key, written in store.listing():
        if key in named:
            counts["kept"] += 1
        elif written >= older_than:
            counts["recent"] += 1
        else:
            await store.delete(key)
            counts["removed"] += 1
    return counts
