"""The databases the suite runs on: SQLite always; PostgreSQL (+ Redis) when configured.

TEST_POSTGRES_URL / TEST_REDIS_URL turn the second backend on; TEST_REQUIRE_SERVICES=1
(set by scripts/test.py under CI=true) makes an unreachable service a failure, not a skip.
Each run creates its own PostgreSQL database, so concurrent runs never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import text

from server.database import Database
from server.migrations import upgrade_to_head
from server.settings import normalize_database_url

T = TypeVar("T")

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
REQUIRE_SERVICES = os.environ.get("TEST_REQUIRE_SERVICES") == "1"


def backend_names() -> list[str]:
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class PostgresRun:
    """A database of its own for this test run, migrated once, emptied between tests."""

    admin_url: str
    name: str

    @property
    def url(self) -> str:
        return normalize_database_url(_with_database(self.admin_url, self.name))

    @classmethod
    async def create(cls, admin_url: str) -> PostgresRun:
        run = cls(admin_url=admin_url, name=f"credentials_test_{uuid.uuid4().hex[:12]}")
        connection = await asyncpg.connect(_asyncpg_dsn(admin_url))
        try:
            await connection.execute(f'CREATE DATABASE "{run.name}"')
        finally:
            await connection.close()
        database = Database(run.url)
        try:
            await upgrade_to_head(database)
        finally:
            await database.dispose()
        return run

    async def empty(self, database: Database) -> None:
        async with database.engine.begin() as connection:
            tables = [
                row[0]
                for row in await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            ]
            if tables:
                quoted = ", ".join(f'"{t}"' for t in tables)
                await connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))

    async def drop(self) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()


@dataclass
class SqliteTemplate:
    """A migrated SQLite file, copied for each test: every test gets a fresh database."""

    path: Path

    @classmethod
    async def create(cls, directory: Path) -> SqliteTemplate:
        path = directory / "template.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade_to_head(database)
            await _checkpoint(database)
        finally:
            await database.dispose()
        return cls(path)

    async def seeded(
        self, name: str, seed: Callable[[Database], Awaitable[T]]
    ) -> tuple[SqliteTemplate, T]:
        """A second template holding what `seed` writes, and what `seed` returned: tests
        that all start from the same rows copy them instead of writing them again."""
        path = self.path.with_name(f"{name}.db")
        shutil.copyfile(self.path, path)
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            result = await seed(database)
            await _checkpoint(database)
        finally:
            await database.dispose()
        return SqliteTemplate(path), result

    def copy_to(self, directory: Path) -> str:
        target = directory / "test.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"


async def _checkpoint(database: Database) -> None:
    """Move the WAL into the main file, so that copying the file copies everything."""
    async with database.engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
