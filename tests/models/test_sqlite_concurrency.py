"""The embedded SQLite default takes concurrent writers without "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select, update

from models.company import Company
from models.tenancy import scoped_to, unscoped
from server.database import Database
from services import identity

WRITERS = 50


async def _read_then_write(database: Database, organization_id: int, index: int) -> None:
    # The dangerous shape: a transaction that reads before it writes. With a deferred BEGIN
    # the upgrade to a write lock fails at once with SQLITE_BUSY when another writer won.
    async with database.transaction(scoped_to(organization_id)) as session:
        company = await session.scalar(select(Company).where(Company.name == "Shared"))
        assert company is not None
        await session.execute(
            update(Company)
            .where(Company.id == company.id)
            .values(address=func.coalesce(Company.address, "") + "x")
        )
        await identity.create_company(session, organization_id, f"Writer {index}")


async def test_fifty_concurrent_writers_never_see_database_is_locked(
    database: Database, backend: str
) -> None:
    # given one organization with a row every writer updates
    async with database.transaction(unscoped()) as session:
        organization = await identity.create_organization(session, "Busy")
        await identity.create_company(session, organization.id, "Shared")

    # when 50 read-then-write transactions run at once
    results = await asyncio.gather(
        *(_read_then_write(database, organization.id, i) for i in range(WRITERS)),
        return_exceptions=True,
    )

    # then all of them committed, none lost its update
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    async with database.read(scoped_to(organization.id)) as session:
        shared = await session.scalar(select(Company).where(Company.name == "Shared"))
        count = await session.scalar(select(func.count()).select_from(Company))
    assert shared is not None
    assert shared.address == "x" * WRITERS
    assert count == WRITERS + 1


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    tmp_path: Path,
) -> None:
    # SQLite only, whatever backends the suite runs on: these are its connection settings.
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with database.engine.connect() as connection:
            journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    finally:
        await database.dispose()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy is not None
    assert busy >= 1000
