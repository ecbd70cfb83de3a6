"""Statements over credentials, versions and activity, as the viewer may see them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    SQLColumnExpression,
    and_,
    func,
    literal,
    or_,
    select,
)

from models.activity import CredentialActivity
from models.credential import Credential, CredentialVersion
from models.credential_filter import LATEST, listed
from models.credential_type import CredentialType
from models.user import User


class CredentialOrderField(StrEnum):
    CREATED = "CREATED"
    EXPIRY_DATE = "EXPIRY_DATE"
    ISSUE_DATE = "ISSUE_DATE"
    HOLDER_NAME = "HOLDER_NAME"
    TYPE_NAME = "TYPE_NAME"
    UPDATED_AT = "UPDATED_AT"


# Dates a version may lack sort as if beyond every real one: no expiry after the latest
# expiry, no issue date before the earliest issue. Keyset comparisons then never meet NULL.
NO_EXPIRY_SORTS_AS = date.max
NO_ISSUE_SORTS_AS = date.min

SortValue = date | datetime | str


@dataclass(frozen=True)
class CredentialOrder:
    """The list's order; ties always fall back to the credential id, in the same direction."""

    field: CredentialOrderField = CredentialOrderField.CREATED
    descending: bool = True

    def value_expression(self) -> SQLColumnExpression[Any] | None:
        """The SQL sort value, None when the id alone orders (CREATED)."""
        match self.field:
            case CredentialOrderField.CREATED:
                return None
            case CredentialOrderField.EXPIRY_DATE:
                return func.coalesce(LATEST.expiry_date, literal(NO_EXPIRY_SORTS_AS, Date))
            case CredentialOrderField.ISSUE_DATE:
                return func.coalesce(LATEST.issue_date, literal(NO_ISSUE_SORTS_AS, Date))
            case CredentialOrderField.HOLDER_NAME:
                return User.name_key
            case CredentialOrderField.TYPE_NAME:
                return CredentialType.name_key
            case CredentialOrderField.UPDATED_AT:
                return Credential.updated_at

    def value_of(self, row: SortKeys) -> SortValue | None:
        """The sort value of a fetched row, as the SQL expression computes it."""
        match self.field:
            case CredentialOrderField.CREATED:
                return None
            case CredentialOrderField.EXPIRY_DATE:
                return row.expiry_date or NO_EXPIRY_SORTS_AS
            case CredentialOrderField.ISSUE_DATE:
                return row.issue_date or NO_ISSUE_SORTS_AS
            case CredentialOrderField.HOLDER_NAME:
                return row.holder_name_key
            case CredentialOrderField.TYPE_NAME:
                return row.type_name_key
            case CredentialOrderField.UPDATED_AT:
                return row.updated_at


@dataclass(frozen=True)
class Position:
    """A keyset position: the sort value (None for CREATED) and id of a row."""

    value: SortValue | None
    id: int


class SortKeys(Protocol):
    """What a page's row carries of every order's sort value (models.credential_page)."""

    @property
    def expiry_date(self) -> date | None: ...
    @property
    def issue_date(self) -> date | None: ...
    @property
    def holder_name_key(self) -> str: ...
    @property
    def type_name_key(self) -> str: ...
    @property
    def updated_at(self) -> datetime: ...


def _visible(holder_visibility: ColumnElement[bool]) -> Select[Credential]:
    """Credentials whose holder the viewer may see (`models.user.user_visibility`)."""
    return select(Credential).join(User, User.id == Credential.holder_id).where(holder_visibility)


def select_credentials_by_id(
    holder_visibility: ColumnElement[bool], ids: Collection[int]
) -> Select[Credential]:
    return _visible(holder_visibility).where(Credential.id.in_(ids))


def select_credentials_of_holders(
    holder_visibility: ColumnElement[bool],
    holder_ids: Collection[int],
    conditions: Sequence[ColumnElement[bool]],
) -> Select[Credential]:
    """The holders' credentials, newest first."""
    return (
        _visible(holder_visibility)
        .where(Credential.holder_id.in_(holder_ids), *conditions)
        .order_by(Credential.id.desc())
    )


def select_credentials_page(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    order: CredentialOrder,
    position: Position | None,
    *,
    backward: bool,
    limit: int,
) -> Select[Credential, User, CredentialType, CredentialVersion]:
    """Up to `limit` rows after `position` in the order (before it when `backward`, then
    nearest first), with holder, type and latest version in the same statement.
    `conditions` come from CredentialFilter.clauses."""
    # Walking towards smaller keys: a descending order read forwards, or an ascending one
    # read backwards.
    smaller = order.descending != backward
    value = order.value_expression()
    statement = listed(Credential, User, CredentialType, LATEST).where(
        holder_visibility, *conditions
    )
    if position is not None:
        statement = statement.where(_beyond(value, position, smaller))
    keys = [Credential.id] if value is None else [value, Credential.id]
    statement = statement.order_by(*(k.desc() if smaller else k.asc() for k in keys))
    return statement.limit(limit)


def _beyond(
    value: SQLColumnExpression[Any] | None, position: Position, smaller: bool
) -> ColumnElement[bool]:
    def past(column: SQLColumnExpression[Any], key: object) -> ColumnElement[bool]:
        return column < key if smaller else column > key

    if value is None:
        return past(Credential.id, position.id)
    return or_(
        past(value, position.value),
        and_(value == position.value, past(Credential.id, position.id)),
    )


def count_credentials(
    holder_visibility: ColumnElement[bool], conditions: Sequence[ColumnElement[bool]]
) -> Select[int]:
    return listed(func.count(Credential.id)).where(holder_visibility, *conditions)


def select_versions_of(credential_ids: Collection[int]) -> Select[CredentialVersion]:
    """Every version of the credentials, newest first within each."""
    return (
        select(CredentialVersion)
        .where(CredentialVersion.credential_id.in_(credential_ids))
        .order_by(CredentialVersion.credential_id, CredentialVersion.number.desc())
    )


def select_latest_versions_of(credential_ids: Collection[int]) -> Select[CredentialVersion]:
    return (
        select(CredentialVersion)
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .where(
            Credential.id.in_(credential_ids),
            CredentialVersion.number == Credential.latest_version_number,
        )
    )


def select_versions_by_id(ids: Collection[int]) -> Select[CredentialVersion]:
    return select(CredentialVersion).where(CredentialVersion.id.in_(ids))


def select_activity_of_credentials(credential_ids: Collection[int]) -> Select[CredentialActivity]:
    return (
        select(CredentialActivity)
        .where(CredentialActivity.credential_id.in_(credential_ids))
        .order_by(CredentialActivity.id)
    )
