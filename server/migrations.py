"""Apply Alembic migrations from the service and the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from models.locks import hold_setup_lock
from server.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    # Instances starting together must not run the same migration twice.
    hold_setup_lock(connection)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(database: Database) -> None:
    """Apply every pending migration in one transaction (SQLite takes the write lock)."""
    sqlite_file = database.engine.url.database if database.is_sqlite else None
    if sqlite_file and sqlite_file != ":memory:":
        Path(sqlite_file).parent.mkdir(parents=True, exist_ok=True)
    async with database.write_engine.begin() as connection:
        await connection.run_sync(_upgrade, alembic_config())


def _pending(connection: Connection, config: Config) -> list[str]:
    head = ScriptDirectory.from_config(config).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    return [] if current == head else [f"{current or 'empty'} -> {head}"]


async def pending_migrations(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_pending, alembic_config())


def _applied(connection: Connection, config: Config) -> list[str]:
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        return []
    revisions = ScriptDirectory.from_config(config).iterate_revisions(current, "base")
    return [f"{revision.revision} {revision.doc}" for revision in reversed(list(revisions))]


async def applied_revisions(database: Database) -> list[str]:
    """The migrations the database has, oldest first, each as "revision description"."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(_applied, alembic_config())
