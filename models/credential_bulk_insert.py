"""Bulk inserts of credentials, versions and their events (CSV import; on PostgreSQL the
events are staged, see models.event_queue).

A batch goes to the database as one statement per table, past SQLAlchemy's per-row
parameter handling: on SQLite the rows travel as one JSON document unpacked by
`json_each`, on PostgreSQL as one array per column unpacked by `unnest`. One bound value
per statement instead of one per row and column: on SQLite the statement then runs
without the GIL, so the next batch can be checked while it writes.

The statements pass the organization id on every row.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from models.credential import Credential, CredentialVersion
from models.event import CredentialEventKind
from models.event_queue import STAGE_EVENTS_POSTGRES

_credentials: Table = Credential.__table__  # type: ignore[assignment]
_versions: Table = CredentialVersion.__table__  # type: ignore[assignment]

_SUBMITTED = CredentialEventKind.SUBMITTED.value
_VERSION_ADDED = CredentialEventKind.VERSION_ADDED.value
_APPROVED = CredentialEventKind.APPROVED.value

_SQLITE_CREDENTIALS = """
INSERT INTO credentials (id, organization_id, type_id, holder_id, latest_version_number,
    revision, external_id, created_by_id, created_at, updated_at, latest_approval_status,
    counting_from, counting_expiry_date)
SELECT value ->> 0, ?1, value ->> 1, value ->> 2, 1, 1, value ->> 3, ?2, ?3, ?3,
    value ->> 4, '0001-01-01', value ->> 5
FROM json_each(?4)
"""
_SQLITE_VERSIONS = """
INSERT INTO credential_versions (id, organization_id, credential_id, number, issue_date,
    expiry_date, credential_number, approval_status, reviewed_by_id, reviewed_at,
    submitted_by_id, created_at, updated_at)
SELECT value ->> 0, ?1, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
    value ->> 6, CASE WHEN value ->> 7 THEN ?2 END, CASE WHEN value ->> 7 THEN ?3 END,
    ?2, ?3, ?3
FROM json_each(?4)
"""
_POSTGRES_CREDENTIALS = """
INSERT INTO credentials (id, organization_id, type_id, holder_id, latest_version_number,
    revision, external_id, created_by_id, created_at, updated_at, latest_approval_status,
    counting_from, counting_expiry_date)
SELECT r.id, $1::integer, r.type_id, r.holder_id, 1, 1, r.external_id, $2::integer,
    $3::timestamptz, $3::timestamptz, r.approval_status, DATE '0001-01-01', r.expiry_date
FROM unnest($4::integer[], $5::integer[], $6::integer[], $7::text[], $8::text[], $9::date[])
    AS r(id, type_id, holder_id, external_id, approval_status, expiry_date)
"""
_POSTGRES_VERSIONS = """
INSERT INTO credential_versions (id, organization_id, credential_id, number, issue_date,
    expiry_date, credential_number, approval_status, reviewed_by_id, reviewed_at,
    submitted_by_id, created_at, updated_at)
SELECT r.id, $1::integer, r.credential_id, r.number, r.issue_date, r.expiry_date,
    r.credential_number, r.approval_status, CASE WHEN r.reviewed THEN $2::integer END,
    CASE WHEN r.reviewed THEN $3::timestamptz END, $2::integer, $3::timestamptz,
    $3::timestamptz
FROM unnest($4::integer[], $5::integer[], $6::integer[], $7::date[], $8::date[],
    $9::text[], $10::text[], $11::boolean[])
    AS r(id, credential_id, number, issue_date, expiry_date, credential_number,
         approval_status, reviewed)
"""
# One event per new version (SUBMITTED for a first one, VERSION_ADDED after), then
# APPROVED for each the importer approved: ids follow the versions' order. SQLite reads
# them back from the batch's versions (consecutive ids under the write lock, looked up by
# key) into the log itself: its writers are serialized anyway. PostgreSQL stages them
# (models.event_queue), from arrays, as its planner knows nothing yet of the rows this
# transaction added and would scan them; they reach the log after the import commits,
# so the import never holds the organization's event-ordering lock.
_SQLITE_EVENTS = f"""
INSERT INTO credential_events (organization_id, kind, credential_id, version_id, holder_id,
    type_id, actor_id, occurred_at, data)
SELECT organization_id, kind, credential_id, version_id, holder_id, type_id, actor_id,
    occurred_at, data FROM (
    SELECT v.organization_id, CASE WHEN v.number = 1 THEN '{_SUBMITTED}'
        ELSE '{_VERSION_ADDED}' END AS kind, v.credential_id, v.id AS version_id,
        c.holder_id, c.type_id, v.submitted_by_id AS actor_id, v.created_at AS occurred_at,
        '{{}}' AS data, 0 AS step
    FROM credential_versions v JOIN credentials c ON c.id = v.credential_id
    WHERE v.id BETWEEN ?1 AND ?2
    UNION ALL
    SELECT v.organization_id, '{_APPROVED}', v.credential_id, v.id, c.holder_id, c.type_id,
        v.submitted_by_id, v.created_at, '{{}}', 1
    FROM credential_versions v JOIN credentials c ON c.id = v.credential_id
    WHERE v.id BETWEEN ?1 AND ?2 AND v.reviewed_by_id IS NOT NULL
) AS new_events ORDER BY version_id, step
"""


@dataclass
class NewCredentials:
    """Columns of the credentials a batch creates, row by row in the same order."""

    type_ids: list[int]
    holder_ids: list[int]
    external_ids: list[str | None]

    def __len__(self) -> int:
        return len(self.type_ids)


@dataclass
class NewVersions:
    """Columns of the versions a batch adds, row by row in the same order. The first ones
    are the new credentials' first versions: their credential ids, not known yet, are
    left out of `credential_ids`, which holds the others'."""

    credential_ids: list[int]
    holder_ids: list[int]
    type_ids: list[int]
    numbers: list[int]
    issue_dates: list[date | None]
    expiry_dates: list[date | None]
    credential_numbers: list[str | None]
    approval_statuses: list[str]
    reviewed: list[bool]  # approved by the importer: reviewer and review time are theirs

    def __len__(self) -> int:
        return len(self.numbers)


class BulkWriter:
    """Writes an import's batches within one transaction of `connection`, which must hold
    the write lock on SQLite (BEGIN IMMEDIATE): ids are then assigned here, after the
    highest one, instead of one round trip per batch. On PostgreSQL they come from the
    tables' sequences.

    On SQLite a batch's statements are queued on the driver's thread and run while the
    caller goes on; `flush` waits for them and raises what they raised. Any statement of
    the connection queues behind them; flush before trusting its answer or committing."""

    def __init__(self, connection: AsyncConnection, driver: Any, next_ids: dict[str, int]):
        self._connection = connection
        self._driver = driver
        self._next_ids = next_ids
        self._sqlite = connection.dialect.name == "sqlite"
        self._pending: list[asyncio.Future[Any]] = []

    @classmethod
    async def open(cls, connection: AsyncConnection) -> BulkWriter:
        raw = await connection.get_raw_connection()
        next_ids: dict[str, int] = {}
        if connection.dialect.name == "sqlite":
            for table in (_credentials, _versions):
                highest = await connection.scalar(select(func.max(table.c.id)))
                next_ids[table.name] = (highest or 0) + 1
        return cls(connection, raw.driver_connection, next_ids)

    async def _ids(self, table: Table, count: int) -> list[int]:
        if count == 0:
            return []
        if self._sqlite:
            first = self._next_ids[table.name]
            self._next_ids[table.name] = first + count
            return list(range(first, first + count))
        sequence = func.pg_get_serial_sequence(table.name, "id")
        result = await self._connection.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        )
        return list(result.scalars())

    async def write(
        self,
        organization_id: int,
        actor_id: int | None,
        now: datetime,
        credentials: NewCredentials,
        versions: NewVersions,
    ) -> None:
        """Inserts `credentials`, then `versions` (the first len(credentials) of which are
        the new credentials' first versions, their credential ids left out), then their
        events."""
        credential_ids = await self._ids(_credentials, len(credentials))
        version_ids = await self._ids(_versions, len(versions))
        credential_column = credential_ids + versions.credential_ids
        if self._sqlite:
            await self._sqlite_write(
                organization_id,
                actor_id,
                now,
                credentials,
                versions,
                credential_ids,
                version_ids,
                credential_column,
            )
            return
        driver = self._driver
        if credentials:
            await driver.execute(
                _POSTGRES_CREDENTIALS,
                organization_id,
                actor_id,
                now,
                credential_ids,
                credentials.type_ids,
                credentials.holder_ids,
                credentials.external_ids,
                versions.approval_statuses[: len(credentials)],
                versions.expiry_dates[: len(credentials)],
            )
        await driver.execute(
            _POSTGRES_VERSIONS,
            organization_id,
            actor_id,
            now,
            version_ids,
            credential_column,
            versions.numbers,
            versions.issue_dates,
            versions.expiry_dates,
            versions.credential_numbers,
            versions.approval_statuses,
            versions.reviewed,
        )
        events: list[tuple[str, int, int, int, int]] = []
        for number, credential_id, version_id, holder_id, type_id, reviewed in zip(
            versions.numbers,
            credential_column,
            version_ids,
            versions.holder_ids,
            versions.type_ids,
            versions.reviewed,
            strict=True,
        ):
            kind = _SUBMITTED if number == 1 else _VERSION_ADDED
            events.append((kind, credential_id, version_id, holder_id, type_id))
            if reviewed:
                events.append((_APPROVED, credential_id, version_id, holder_id, type_id))
        await driver.execute(
            STAGE_EVENTS_POSTGRES,
            organization_id,
            actor_id,
            now,
            *map(list, zip(*events, strict=True)),
        )

    async def _sqlite_write(
        self,
        organization_id: int,
        actor_id: int | None,
        now: datetime,
        credentials: NewCredentials,
        versions: NewVersions,
        credential_ids: list[int],
        version_ids: list[int],
        credential_column: list[int],
    ) -> None:
        stamp = _sqlite_timestamp(self._connection, now)
        statements: list[tuple[str, Sequence[Any]]] = []
        if credentials:
            # With its summary (migration 0007) from its first version, so that the
            # summary's trigger finds it written and skips a row-by-row UPDATE.
            first = len(credentials)
            rows = zip(
                credential_ids,
                credentials.type_ids,
                credentials.holder_ids,
                credentials.external_ids,
                versions.approval_statuses[:first],
                [_iso(day) for day in versions.expiry_dates[:first]],
                strict=True,
            )
            statements.append(
                (_SQLITE_CREDENTIALS, (organization_id, actor_id, stamp, _json(rows)))
            )
        rows = zip(
            version_ids,
            credential_column,
            versions.numbers,
            [_iso(day) for day in versions.issue_dates],
            [_iso(day) for day in versions.expiry_dates],
            versions.credential_numbers,
            versions.approval_statuses,
            versions.reviewed,
            strict=True,
        )
        statements.append((_SQLITE_VERSIONS, (organization_id, actor_id, stamp, _json(rows))))
        statements.append((_SQLITE_EVENTS, (version_ids[0], version_ids[-1])))
        # Queued in this order on the driver's one thread: they run one after the other
        # while this coroutine's caller checks the next batch.
        self._pending.extend(
            asyncio.ensure_future(self._driver.execute(sql, parameters))
            for sql, parameters in statements
        )
        await asyncio.sleep(0)  # let each start, and so take its place in the queue

    async def settle(self) -> None:
        """Waits for queued statements, ignoring what they raised (the transaction is
        being rolled back)."""
        pending, self._pending = self._pending, []
        await asyncio.gather(*pending, return_exceptions=True)

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            results = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
                await result.close()


def _json(rows: Any) -> str:
    return json.dumps(list(rows), separators=(",", ":"))


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _sqlite_timestamp(connection: AsyncConnection, moment: datetime) -> str:
    """`moment` as the timestamp columns store it on SQLite: a string from the column
    type's own bind processing, as the ORM writes it. The column's generic type has no
    processor; its SQLite implementation formats the value, so no datetime ever reaches
    the sqlite3 module's default adapter (deprecated since Python 3.12)."""
    dialect = connection.dialect
    processor = _credentials.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    value = moment if processor is None else processor(moment)
    if not isinstance(value, str):
        raise TypeError(f"SQLite timestamps are bound as text, not {type(value).__name__}")
    return value
