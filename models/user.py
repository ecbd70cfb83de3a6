"""Users: the people whose credentials are tracked, and who call the API."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Select,
    String,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, TenantOwned, utcnow


class User(TenantOwned, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("organization_id", "email_key"),
        # The credentials list ordered by holder name (case-insensitive).
        Index("ix_users_organization_id_name_key", "organization_id", "name_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # casefold(name): case-insensitive search that SQL lower() gets wrong beyond ASCII.
    name_key: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))  # lower(email): unique per organization
    is_active: Mapped[bool] = mapped_column(default=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    permission_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("permission_sets.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("name")
    def _keep_name_key(self, _: str, name: str) -> str:
        self.name_key = name.strip().casefold()
        return name

    @validates("email")
    def _keep_email_key(self, _: str, email: str) -> str:
        self.email_key = email.strip().casefold()
        return email


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching `text` anywhere, any case."""
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def user_visibility(
    viewer_user_id: int, sees_all: bool, company_ids: Collection[int]
) -> ColumnElement[bool]:
    """Which users a viewer may see: everyone, or themselves and the given companies' workers."""
    if sees_all:
        return true()
    if not company_ids:
        return User.id == viewer_user_id
    return or_(User.id == viewer_user_id, User.company_id.in_(company_ids))


@dataclass(frozen=True)
class UserFilter:
    search: str | None = None
    company_ids: Collection[int] | None = None
    is_active: bool | None = None

    def clauses(self, readable_emails: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        """`readable_emails`: the users whose email the viewer reads; a search matches
        other users' emails never, or its answers (and their count) would reveal them."""
        clauses: list[ColumnElement[bool]] = []
        if self.search:
            pattern = contains_pattern(self.search)
            clauses.append(
                or_(
                    User.name_key.like(pattern, escape="\\"),
                    and_(readable_emails, User.email_key.like(pattern, escape="\\")),
                )
            )
        if self.company_ids is not None:
            clauses.append(User.company_id.in_(self.company_ids))
        if self.is_active is not None:
            clauses.append(User.is_active.is_(self.is_active))
        return clauses


def select_users_page(
    visible: ColumnElement[bool],
    readable_emails: ColumnElement[bool],
    user_filter: UserFilter,
    after: tuple[str, int] | None,
    limit: int,
) -> Select[User]:
    """A page of users in (name, id) order, starting after the keyset position `after`."""
    statement = select(User).where(visible, *user_filter.clauses(readable_emails))
    if after is not None:
        name, user_id = after
        statement = statement.where(
            or_(User.name > name, and_(User.name == name, User.id > user_id))
        )
    return statement.order_by(User.name, User.id).limit(limit)


def count_users(
    visible: ColumnElement[bool], readable_emails: ColumnElement[bool], user_filter: UserFilter
) -> Select[int]:
    return (
        select(func.count()).select_from(User).where(visible, *user_filter.clauses(readable_emails))
    )


def select_users_by_id(visible: ColumnElement[bool], ids: Collection[int]) -> Select[User]:
    return select(User).where(visible, User.id.in_(ids))


def select_user_by_email(organization_id: int, email: str) -> Select[User]:
    """The organization's user with that email, in any case."""
    return select(User).where(
        User.organization_id == organization_id, User.email_key == email.strip().casefold()
    )


def select_first_users_of_companies(
    visible: ColumnElement[bool], company_ids: Collection[int], limit: int
) -> Select[User]:
    """The first `limit` users of each company in (name, id) order, in one statement."""
    rank = (
        func.row_number()
        .over(partition_by=User.company_id, order_by=(User.name, User.id))
        .label("rank")
    )
    ranked = (
        select(User.id.label("id"), rank)
        .where(visible, User.company_id.in_(company_ids))
        .subquery("ranked")
    )
    return (
        select(User)
        .join(ranked, ranked.c.id == User.id)
        .where(ranked.c.rank <= limit)
        .order_by(User.company_id, User.name, User.id)
    )


def count_users_of_companies(
    visible: ColumnElement[bool], company_ids: Collection[int]
) -> Select[int | None, int]:
    """(company id, users the viewer may see) per company."""
    return (
        select(User.company_id, func.count())
        .where(visible, User.company_id.in_(company_ids))
        .group_by(User.company_id)
    )
