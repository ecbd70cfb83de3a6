"""What the credentials list and its overview select: the filter and the SQL expressions
it shares with the orderings and the counts.

Every statement built here reads from `credentials` joined to its holder (`users`), its
type and its latest version (`LATEST`), so a filter or a sort may name any of them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.credential import ApprovalStatus, Credential, CredentialVersion, ExpiryStatus
from models.credential_type import CredentialType
from models.job_role import holds_job_role
from models.user import User, contains_pattern

# The latest version of each listed credential (the join is one row per credential).
LATEST = aliased(CredentialVersion, name="latest_version")


class ArchivedFilter(StrEnum):
    EXCLUDE = "EXCLUDE"
    ONLY = "ONLY"
    INCLUDE = "INCLUDE"


@dataclass(frozen=True)
class ExpiryWindow:
    """The day expiry status is judged on, and the last day that counts as expiring soon."""

    on: date
    soon_until: date

    @classmethod
    def starting(cls, day: date, expiring_soon_days: int) -> ExpiryWindow:
        """The window of an organization's setting; the calendar ends: past it, it stops."""
        days_left = (date.max - day).days
        return cls(on=day, soon_until=day + timedelta(days=min(expiring_soon_days, days_left)))


@dataclass(frozen=True)
class SearchScope:
    """Where the viewer may match a search on a private field: a search must never reveal
    what the viewer cannot read (emails, credential numbers)."""

    emails: ColumnElement[bool]
    numbers: ColumnElement[bool]


@dataclass(frozen=True)
class CredentialFilter:
    type_ids: Collection[int] | None = None
    holder_ids: Collection[int] | None = None
    company_ids: Collection[int] | None = None
    job_role_ids: Collection[int] | None = None
    approval_statuses: Collection[ApprovalStatus] | None = None
    expiry_statuses: Collection[ExpiryStatus] | None = None
    expires_from: date | None = None
    expires_to: date | None = None
    archived: ArchivedFilter = ArchivedFilter.EXCLUDE
    search: str | None = None

    @property
    def names_latest_version(self) -> bool:
        """Whether the clauses name LATEST (statements that need not join it otherwise)."""
        return (
            self.approval_statuses is not None
            or self.expires_from is not None
            or self.expires_to is not None
        )

    def clauses(
        self, window: ExpiryWindow | None = None, scope: SearchScope | None = None
    ) -> list[ColumnElement[bool]]:
        """The conditions over credentials, holder, type and latest version. `window` is
        needed when filtering by expiry status, `scope` when searching."""
        clauses = self.clauses_except_archived(window, scope)
        if self.archived is ArchivedFilter.EXCLUDE:
            clauses.append(Credential.archived_at.is_(None))
        elif self.archived is ArchivedFilter.ONLY:
            clauses.append(Credential.archived_at.is_not(None))
        return clauses

    def clauses_except_archived(
        self, window: ExpiryWindow | None = None, scope: SearchScope | None = None
    ) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.type_ids is not None:
            clauses.append(Credential.type_id.in_(self.type_ids))
        if self.holder_ids is not None:
            clauses.append(Credential.holder_id.in_(self.holder_ids))
        if self.company_ids is not None:
            clauses.append(User.company_id.in_(self.company_ids))
        if self.job_role_ids is not None:
            clauses.append(holds_job_role(self.job_role_ids))
        if self.approval_statuses is not None:
            clauses.append(LATEST.approval_status.in_(self.approval_statuses))
        if self.expiry_statuses is not None:
            if window is None:
                raise ValueError("filtering by expiry status needs the day it is judged on")
            statuses = [s.value for s in self.expiry_statuses]
            clauses.append(counted_expiry_status(window).in_(statuses))
        if self.expires_from is not None:
            clauses.append(LATEST.expiry_date >= self.expires_from)
        if self.expires_to is not None:
            clauses.append(LATEST.expiry_date <= self.expires_to)
        if self.search:
            if scope is None:
                raise ValueError("searching needs the viewer's search scope")
            clauses.append(_matches(self.search, scope))
        return clauses


def _matches(text: str, scope: SearchScope) -> ColumnElement[bool]:
    pattern = contains_pattern(text)
    number_matches = exists().where(
        CredentialVersion.credential_id == Credential.id,
        func.lower(CredentialVersion.credential_number).like(pattern, escape="\\"),
    )
    return or_(
        User.name_key.like(pattern, escape="\\"),
        and_(scope.emails, User.email_key.like(pattern, escape="\\")),
        and_(scope.numbers, number_matches),
    )


def counting_expiry_date(on: date) -> ScalarSelect[date | None]:
    """The expiry date of the version whose dates describe each credential on `on`, in
    SQL: the rule of services.credentials.dates.version_that_counts, as one ranking. The
    effective version; else the latest approved one already issued; else the latest
    approved; else the latest."""
    version = aliased(CredentialVersion, name="counting_version")
    return _of_counting_version(version, version.expiry_date, on)


def _of_counting_version(
    version: Any, column: SQLColumnExpression[Any], on: date
) -> ScalarSelect[Any]:
    """`column` (of `version`, an alias of the versions) of each credential's counting
    version on `on`."""
    approved = version.approval_status == ApprovalStatus.APPROVED
    issued = or_(version.issue_date.is_(None), version.issue_date <= on)
    unexpired = or_(version.expiry_date.is_(None), version.expiry_date >= on)
    rank = case(
        (and_(approved, issued, unexpired), 0),
        (and_(approved, issued), 1),
        (approved, 2),
        else_=3,
    )
    return (
        select(column)
        .where(version.credential_id == Credential.id)
        .order_by(rank, version.number.desc())
        .limit(1)
        .correlate(Credential)
        .scalar_subquery()
    )


# What expiry_status_of gives for each status: its name, unless a caller asks otherwise.
STATUS_NAMES: dict[ExpiryStatus, Any] = {status: status.value for status in ExpiryStatus}


def expiry_status_of(
    expiry_date: SQLColumnExpression[date | None],
    window: ExpiryWindow,
    values: dict[ExpiryStatus, Any] = STATUS_NAMES,
) -> ColumnElement[Any]:
    """services.credentials.dates.expiry_status in SQL: the status's name (or `values`)."""
    return case(
        (expiry_date.is_(None), values[ExpiryStatus.NO_EXPIRY]),
        (expiry_date < window.on, values[ExpiryStatus.EXPIRED]),
        (expiry_date <= window.soon_until, values[ExpiryStatus.EXPIRING_SOON]),
        else_=values[ExpiryStatus.VALID],
    )


def counted_expiry_status(
    window: ExpiryWindow, values: dict[ExpiryStatus, Any] = STATUS_NAMES
) -> ColumnElement[Any]:
    """expiry_status_of(counting_expiry_date(...)), read from the credential's summary
    (models.credential) where it tells for the day, and only otherwise from its versions:
    one ranking subquery for those credentials alone."""
    version = aliased(CredentialVersion, name="counting_version")
    return case(
        (
            Credential.counting_from <= window.on,
            expiry_status_of(Credential.counting_expiry_date, window, values),
        ),
        else_=_of_counting_version(
            version, expiry_status_of(version.expiry_date, window, values), window.on
        ),
    )


class outer_only(FunctionElement[Any]):
    """A join column that SQLite's planner may not look rows up by (a unary +), so it walks
    credentials in the list's order and looks up holder, type and version by key. Left to
    itself on a large organization it loops over types x users instead, then sorts every
    credential for a page of 20. Other databases plan well: there it is the column."""

    name = "outer_only"
    inherit_cache = True

    def __init__(self, column: SQLColumnExpression[Any]) -> None:
        super().__init__(column)
        self.type = Integer()  # keys only


@compiles(outer_only, "sqlite")
def _outer_only_sqlite(element: outer_only, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


@compiles(outer_only)
def _outer_only(element: outer_only, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def listed(*columns: Any) -> Select[Any]:
    """SELECT `columns` FROM credentials with holder, type and latest version joined."""
    statement: Select[Any] = select(*columns)
    return (
        statement.select_from(Credential)
        .join(User, User.id == outer_only(Credential.holder_id))
        .join(CredentialType, CredentialType.id == outer_only(Credential.type_id))
        .join(
            LATEST,
            and_(
                LATEST.credential_id == outer_only(Credential.id),
                LATEST.number == Credential.latest_version_number,
            ),
        )
    )
