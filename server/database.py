"""The engine and its sessions, set up for concurrent use on SQLite and PostgreSQL.

Reads and writes use different sessions. On SQLite a write transaction takes the write
lock up front (BEGIN IMMEDIATE): a deferred transaction that reads first and writes later
gets SQLITE_BUSY at once when another writer got there in between, whatever the busy
timeout. Reads stay deferred, so in WAL mode they never wait for writers.

A read of a single statement needs no transaction at all (`read_rows`): one statement sees
one snapshot on its own, on SQLite (the statement's implicit read transaction) as on
PostgreSQL (the statement's snapshot). It saves the BEGIN and ROLLBACK round trips (on
SQLite through aiosqlite's thread) and the ORM's result machinery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import UpdateBase

from models.event import organizations_with_new_events
from models.tenancy import TenantSession, scoped_select

_Columns = TypeVarTuple("_Columns")
_BEGIN_IMMEDIATE = "sqlite_begin_immediate"
_NO_BEGIN = "sqlite_no_begin"


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module (SQLAlchemy's documented
        # recipe): it would otherwise BEGIN lazily, and never IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode, far fewer fsyncs
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(_NO_BEGIN, False):
            # Each statement runs in autocommit mode, in its own implicit transaction; the
            # ROLLBACK SQLAlchemy sends at the end is a no-op for sqlite3 outside one.
            return
        immediate = options.get(_BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass(frozen=True)
class PoolShape:
    """The connection pool: `size` kept open, up to `max_overflow` more under load, and
    how long a request waits for one when all are in use. The wait is short: a pool that
    stays exhausted answers SERVICE_UNAVAILABLE (services.availability) at once rather
    than holding every caller, of every organization, for SQLAlchemy's 30 s."""

    size: int = 5
    max_overflow: int = 10
    timeout_s: float = 2.0


class Database:
    """Owns the engine; hands out short read sessions and write transactions."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_busy_timeout_ms: int = 15_000,
        pool: PoolShape | None = None,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        pool = pool or PoolShape()
        self.engine = create_async_engine(
            url,
            pool_pre_ping=not self.is_sqlite,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_s,
        )
        self.write_engine = self.engine
        if self.is_sqlite:
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms)
            self.write_engine = self.engine.execution_options(**{_BEGIN_IMMEDIATE: True})
            self._single_statement_engine = self.engine.execution_options(**{_NO_BEGIN: True})
        else:
            self._single_statement_engine = self.engine.execution_options(
                isolation_level="AUTOCOMMIT"
            )
        self._reader = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=TenantSession
        )
        self._writer = async_sessionmaker(
            self.write_engine, expire_on_commit=False, sync_session_class=TenantSession
        )
        self._event_listeners: list[Callable[[int], None]] = []

    def on_events_committed(self, listener: Callable[[int], None]) -> None:
        """`listener(organization_id)` runs after each commit that wrote events of the
        organization (the outbox's "something new" signal); never for a rollback."""
        self._event_listeners.append(listener)

    @asynccontextmanager
    async def read(self, info: dict[str, Any]) -> AsyncIterator[AsyncSession]:
        """A session for reads only; whatever it leaves open is rolled back."""
        async with self._reader(info=info) as session:
            yield session

    async def read_rows(
        self,
        info: Mapping[str, Any],
        statement: Select[*_Columns],
        parameters: Mapping[str, Any] | None = None,
    ) -> Sequence[Row[*_Columns]]:
        """The rows of one SELECT, outside any transaction, with the tenant criteria a
        session opened with `info` would add (models.tenancy.scoped_select). For reads of
        several statements that must agree with each other, use `read`."""
        scoped = scoped_select(statement, info)
        async with self._single_statement_engine.connect() as connection:
            return (await connection.execute(scoped, parameters)).all()

    async def write_one(self, statement: UpdateBase) -> int:
        """One INSERT, UPDATE or DELETE as a transaction of its own (SQLite's implicit one,
        PostgreSQL's autocommit): one round trip instead of BEGIN, the statement and
        COMMIT. Unscoped: for system tasks that write rows by key (the delivery worker's
        outcomes). The rows it changed."""
        async with self._single_statement_engine.connect() as connection:
            result = await connection.execute(statement)
            await connection.commit()
            return result.rowcount

    @asynccontextmanager
    async def transaction(self, info: dict[str, Any]) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back on error."""
        async with self._writer(info=info) as session:
            async with session.begin():
                yield session
            organizations = organizations_with_new_events(session.sync_session)
        for organization_id in organizations:
            for listener in self._event_listeners:
                listener(organization_id)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
