"""The store settled around transactions, when two of them upload the same content at
once: one rolls back, the other commits."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from models.tenancy import scoped_to
from server.database import Database
from services.media.staging import MediaStaging
from services.media.storage import LocalMediaStore
from services.media.uploads import CheckedFile
from tests.media.files import PDF, stored_files
from tests.world import World


def _checked() -> CheckedFile:
    return CheckedFile("licence.pdf", "application/pdf", len(PDF), io.BytesIO(PDF))


async def test_a_rollback_never_takes_content_from_a_transaction_that_commits(
    tmp_path: Path, database: Database, world: World
) -> None:
    root = tmp_path / "media"
    store = LocalMediaStore(root)

    def read() -> AbstractAsyncContextManager[AsyncSession]:
        @asynccontextmanager
        async def session() -> AsyncIterator[AsyncSession]:
            async with database.read(scoped_to(world.north_id)) as opened:
                yield opened

        return session()

    # given two mutations staging the same PDF: the first writes it, the second finds it
    first, second = MediaStaging(store, world.north_id), MediaStaging(store, world.north_id)
    await first.stage([_checked()])
    await second.stage([_checked()])
    # when the first rolls back before the second commits (no row names the file yet)
    await first.settle(False, read)
    assert stored_files(root) == []
    # then the second, having committed, writes the file again
    await second.settle(True, read)
    assert [p.read_bytes() for p in stored_files(root)] == [PDF]
