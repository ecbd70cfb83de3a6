"""The look-ups of bulk loading credentials (CSV import): the users and types a file may
name, the live credentials its rows may renew, and the update that renews them. The
inserts are in models.credential_bulk_insert.

The text statements pass the organization id themselves; the ORM selects stay scoped by
the session.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Executable, Select, Table, Update, bindparam, select, text, update

from models.credential import Credential, CredentialVersion
from models.credential_type import CredentialType
from models.user import User

_credentials: Table = Credential.__table__  # type: ignore[assignment]


def select_active_users(company_ids: Collection[int] | None) -> Select[str, int, int | None]:
    """(email key, id, company id) of active users, all or those of some companies."""
    statement = select(User.email_key, User.id, User.company_id).where(User.is_active.is_(True))
    if company_ids is not None:
        statement = statement.where(User.company_id.in_(company_ids))
    return statement


def select_types() -> Select[CredentialType]:
    return select(CredentialType)


_LATEST_COLUMNS = (
    Credential.id,
    Credential.holder_id,
    Credential.type_id,
    Credential.latest_version_number,
    CredentialVersion.issue_date,
    CredentialVersion.expiry_date,
    CredentialVersion.credential_number,
    Credential.external_id,
)
# SQLite without statistics (a fresh import's tables have none) walks the organization's
# whole index for this instead: each batch then read every credential loaded before it.
_SQLITE_LIVE_LATEST = (
    text(
        """
SELECT c.id, c.holder_id, c.type_id, c.latest_version_number, v.issue_date, v.expiry_date,
    v.credential_number, c.external_id
FROM credentials AS c INDEXED BY uq_credentials_live_holder_type
JOIN credential_versions AS v ON v.credential_id = c.id AND v.number = c.latest_version_number
WHERE c.holder_id IN :holder_ids AND c.type_id IN :type_ids AND c.archived_at IS NULL
    AND c.organization_id = :organization_id
"""
    )
    .bindparams(bindparam("holder_ids", expanding=True), bindparam("type_ids", expanding=True))
    .columns(*_LATEST_COLUMNS)
)


# PostgreSQL plans the same look-up from the tables' statistics, which a large import's
# own rows are not in yet: it took the organization's index too. Per (holder, type) pair,
# a lateral look-up leaves it the unique index of live pairs as the one good plan (LIMIT 1,
# true of live pairs anyway, keeps the planner from flattening it into a hash join over
# the whole table).
_POSTGRES_LIVE_LATEST = text(
    """
SELECT c.id, c.holder_id, c.type_id, c.latest_version_number, v.issue_date, v.expiry_date,
    v.credential_number, c.external_id
FROM unnest(CAST(:holder_ids AS integer[]), CAST(:type_ids AS integer[]))
    AS pair(holder_id, type_id)
CROSS JOIN LATERAL (
    SELECT live.id, live.holder_id, live.type_id, live.latest_version_number,
        live.external_id
    FROM credentials AS live
    WHERE live.holder_id = pair.holder_id AND live.type_id = pair.type_id
        AND live.archived_at IS NULL AND live.organization_id = :organization_id
    LIMIT 1
) AS c
JOIN credential_versions AS v ON v.credential_id = c.id AND v.number = c.latest_version_number
"""
).columns(*_LATEST_COLUMNS)


def select_live_latest(
    dialect_name: str, organization_id: int, pairs: Collection[tuple[int, int]]
) -> Executable:
    """Live credentials of some (holder, type) pairs with their latest version's details:
    (credential id, holder id, type id, latest number, issue, expiry, number, external id),
    looked up by the unique index of live pairs whatever the planner knows of the tables.
    On SQLite the holders' and types' cross product is looked up: callers keep the pairs
    they asked about."""
    if dialect_name == "sqlite":
        return _SQLITE_LIVE_LATEST.params(
            holder_ids=list({holder for holder, _ in pairs}),
            type_ids=list({type_id for _, type_id in pairs}),
            organization_id=organization_id,
        )
    return _POSTGRES_LIVE_LATEST.params(
        holder_ids=[holder for holder, _ in pairs],
        type_ids=[type_id for _, type_id in pairs],
        organization_id=organization_id,
    )


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
