"""Set-based statements for bulk loading credentials (CSV import): Core inserts and updates
executed with many parameter sets at once, and the look-ups that feed them.

The inserts go through the session's connection, past the ORM: callers pass the
organization id on every row (the lookups, ORM selects, stay scoped by the session).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from sqlalchemy import Select, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from models.credential import Credential, CredentialVersion
from models.credential_type import CredentialType
from models.event import CredentialEvent
from models.user import User

_credentials: Table = Credential.__table__  # type: ignore[assignment]
_versions: Table = CredentialVersion.__table__  # type: ignore[assignment]
_events: Table = CredentialEvent.__table__  # type: ignore[assignment]
CREDENTIALS_TABLE, VERSIONS_TABLE, EVENTS_TABLE = _credentials, _versions, _events


def select_active_users(company_ids: Collection[int] | None) -> Select[str, int, int | None]:
    """(email key, id, company id) of active users, all or those of some companies."""
    statement = select(User.email_key, User.id, User.company_id).where(User.is_active.is_(True))
    if company_ids is not None:
        statement = statement.where(User.company_id.in_(company_ids))
    return statement


def select_types() -> Select[CredentialType]:
    return select(CredentialType)


def select_live_latest(
    holder_ids: Collection[int], type_ids: Collection[int]
) -> Select[int, int, int, int, date | None, date | None, str | None, str | None]:
    """Live credentials of some holders and types with their latest version's details:
    (credential id, holder id, type id, latest number, issue, expiry, number, external id).
    Callers keep only the (holder, type) pairs they asked about."""
    return (
        select(
            Credential.id,
            Credential.holder_id,
            Credential.type_id,
            Credential.latest_version_number,
            CredentialVersion.issue_date,
            CredentialVersion.expiry_date,
            CredentialVersion.credential_number,
            Credential.external_id,
        )
        .join(
            CredentialVersion,
            (CredentialVersion.credential_id == Credential.id)
            & (CredentialVersion.number == Credential.latest_version_number),
        )
        .where(
            Credential.holder_id.in_(holder_ids),
            Credential.type_id.in_(type_ids),
            Credential.archived_at.is_(None),
        )
    )


async def reserve_ids(connection: AsyncConnection, table: Table, count: int) -> list[int]:
    """`count` new primary keys of `table`, for inserts that pass their ids: RETURNING
    with many parameter sets runs one statement per row on SQLite. PostgreSQL: taken
    from the table's sequence. SQLite: after the highest id, which is safe because the
    write transaction (BEGIN IMMEDIATE) holds the database's only write lock."""
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        result = await connection.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        )
        return list(result.scalars())
    highest = await connection.scalar(select(func.max(table.c.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


async def insert_many(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> None:
    """INSERT of many rows with the same keys. On SQLite, straight to the driver's
    executemany with each distinct value bound once per batch (a batch repeats the same
    timestamp in five columns a row): SQLAlchemy's per-row parameter handling was a third
    of an import's time. Elsewhere, a Core executemany."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        await connection.execute(insert(table), rows)
        return
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(rows[0]))
    processors: dict[str, Callable[[Any], Any]] = compiled._bind_processors  # type: ignore[assignment]
    columns = []
    for name in compiled.positiontup or []:
        values = [row[name] for row in rows]
        processor = processors.get(name)
        columns.append(values if processor is None else _bound(values, processor))
    parameters = list(zip(*columns, strict=True))
    await connection.exec_driver_sql(compiled.string, parameters)


def _bound(values: list[Any], processor: Callable[[Any], Any]) -> list[Any]:
    """`values` through a bind processor, each distinct value once."""
    try:
        done = {value: processor(value) if value is not None else None for value in set(values)}
    except TypeError:  # unhashable values, e.g. JSON documents: one by one
        return [processor(value) if value is not None else None for value in values]
    return [done[value] for value in values]


def update_latest_versions() -> Update:
    """Parameters: credential_id, number, external_id, now. Bumps the revision as the
    ORM's version counter would, so a concurrent editor holding the old one conflicts."""
    return (
        update(_credentials)
        .where(_credentials.c.id == bindparam("credential_id"))
        .values(
            latest_version_number=bindparam("number"),
            external_id=bindparam("external_id"),
            revision=_credentials.c.revision + 1,
            updated_at=bindparam("now"),
        )
    )
