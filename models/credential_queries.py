"""Statements over credentials, versions and activity, as the viewer may see them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, select

from models.activity import CredentialActivity
from models.credential import Credential, CredentialVersion
from models.user import User


class ArchivedFilter(StrEnum):
    EXCLUDE = "EXCLUDE"
    ONLY = "ONLY"
    INCLUDE = "INCLUDE"


@dataclass(frozen=True)
class CredentialFilter:
    type_ids: Collection[int] | None = None
    holder_ids: Collection[int] | None = None
    archived: ArchivedFilter = ArchivedFilter.EXCLUDE

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.type_ids is not None:
            clauses.append(Credential.type_id.in_(self.type_ids))
        if self.holder_ids is not None:
            clauses.append(Credential.holder_id.in_(self.holder_ids))
        if self.archived is ArchivedFilter.EXCLUDE:
            clauses.append(Credential.archived_at.is_(None))
        elif self.archived is ArchivedFilter.ONLY:
            clauses.append(Credential.archived_at.is_not(None))
        return clauses


def _visible(holder_visibility: ColumnElement[bool]) -> Select[Credential]:
    """Credentials whose holder the viewer may see (`models.user.user_visibility`)."""
    return select(Credential).join(User, User.id == Credential.holder_id).where(holder_visibility)


def select_credentials_by_id(
    holder_visibility: ColumnElement[bool], ids: Collection[int]
) -> Select[Credential]:
    return _visible(holder_visibility).where(Credential.id.in_(ids))


def select_credentials_page(
    holder_visibility: ColumnElement[bool],
    credential_filter: CredentialFilter,
    before_id: int | None,
    limit: int,
) -> Select[Credential]:
    """Newest first; the keyset position is the last id of the previous page."""
    statement = _visible(holder_visibility).where(*credential_filter.clauses())
    if before_id is not None:
        statement = statement.where(Credential.id < before_id)
    return statement.order_by(Credential.id.desc()).limit(limit)


def count_credentials(
    holder_visibility: ColumnElement[bool], credential_filter: CredentialFilter
) -> Select[int]:
    return (
        select(func.count(Credential.id))
        .join(User, User.id == Credential.holder_id)
        .where(holder_visibility, *credential_filter.clauses())
    )


def select_versions_of(credential_ids: Collection[int]) -> Select[CredentialVersion]:
    """Every version of the credentials, newest first within each."""
    return (
        select(CredentialVersion)
        .where(CredentialVersion.credential_id.in_(credential_ids))
        .order_by(CredentialVersion.credential_id, CredentialVersion.number.desc())
    )


def select_versions_by_id(ids: Collection[int]) -> Select[CredentialVersion]:
    return select(CredentialVersion).where(CredentialVersion.id.in_(ids))


def select_activity_of_credentials(credential_ids: Collection[int]) -> Select[CredentialActivity]:
    return (
        select(CredentialActivity)
        .where(CredentialActivity.credential_id.in_(credential_ids))
        .order_by(CredentialActivity.id)
    )
