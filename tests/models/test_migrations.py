"""Alembic is the only source of the schema: `upgrade head` yields exactly the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import models
from server.database import Database
from server.migrations import pending_migrations, upgrade_to_head


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, models.Base.metadata))


async def test_upgrade_head_matches_the_models_exactly(database: Database) -> None:
    # given a database migrated to head by the fixtures
    # when the live schema is compared with the models
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    # then nothing differs: no table, column, index, constraint or type drift
    assert differences == []


async def test_nothing_is_pending_after_upgrade_and_a_second_upgrade_is_a_no_op(
    database: Database,
) -> None:
    assert await pending_migrations(database) == []
    await upgrade_to_head(database)
    assert await pending_migrations(database) == []


async def test_an_empty_sqlite_file_reports_pending_migrations(tmp_path: Any) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        pending = await pending_migrations(database)
        assert len(pending) == 1
        assert pending[0].startswith("empty -> ")
        await upgrade_to_head(database)
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await database.dispose()
