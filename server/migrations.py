"""Apply Alembic migrations from the service and the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant will do: it only has to be the same for every instance of this service.
_MIGRATION_LOCK_KEY = 7_415_020_113


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        # Instances starting together must not run the same migration twice.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(database: Database) -> None:
    """Apply every pending migration in one transaction (SQLite takes the write lock)."""
    async with database.write_engine.begin() as connection:
        await connection.run_sync(_upgrade, alembic_config())


def _pending(connection: Connection, config: Config) -> list[str]:
    head = ScriptDirectory.from_config(config).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    return [] if current == head else [f"{current or 'empty'} -> {head}"]


async def pending_migrations(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_pending, alembic_config())
