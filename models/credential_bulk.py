"""Set-based statements for bulk loading credentials (CSV import): Core inserts and updates
executed with many parameter sets at once, and the look-ups that feed them.

The inserts go through the session's connection, past the ORM: callers pass the
organization id on every row (the lookups, ORM selects, stay scoped by the session).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import Insert, Select, Update, bindparam, insert, select, update

from models.credential import Credential, CredentialVersion
from models.credential_type import CredentialType
from models.event import CredentialEvent
from models.user import User

_credentials = Credential.__table__
_versions = CredentialVersion.__table__


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


def insert_credentials() -> Insert:
    """Returns the new ids in the order of the parameter sets."""
    return insert(_credentials).returning(_credentials.c.id, sort_by_parameter_order=True)  # type: ignore[arg-type]


def insert_versions() -> Insert:
    return insert(_versions).returning(_versions.c.id, sort_by_parameter_order=True)  # type: ignore[arg-type]


def insert_events() -> Insert:
    return insert(CredentialEvent.__table__)  # type: ignore[arg-type]


def update_latest_versions() -> Update:
    """Parameters: credential_id, number, external_id, now. Bumps the revision as the
    ORM's version counter would, so a concurrent editor holding the old one conflicts."""
    return (
        update(_credentials)  # type: ignore[arg-type]
        .where(_credentials.c.id == bindparam("credential_id"))
        .values(
            latest_version_number=bindparam("number"),
            external_id=bindparam("external_id"),
            revision=_credentials.c.revision + 1,
            updated_at=bindparam("now"),
        )
    )
