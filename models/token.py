"""API tokens: opaque bearer secrets, of which only a hash is ever stored."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Row,
    ScalarSelect,
    Select,
    String,
    Update,
    bindparam,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow
from models.company import CompanyKeyContact, CompanyManager
from models.permission import PermissionSet
from models.user import User


class ApiToken(TenantOwned, Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the token: tokens carry 256 random bits, so a plain digest cannot be reversed.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


def _company_ids_of_user(
    link: type[CompanyManager] | type[CompanyKeyContact],
) -> ScalarSelect[str | None]:
    """The ids of the companies `link` ties the user to, comma-separated (None for none)."""
    return (
        select(func.aggregate_strings(cast(link.company_id, String), ","))
        .where(link.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )


# token id, last use, user id, organization id, company id, permission names, the ids of
# the companies managed and of those the user is key contact of (comma-separated)
LiveViewerSelect = Select[
    int, datetime | None, int, int, int | None, list[str] | None, str | None, str | None
]
LiveViewerRow = Row[
    int, datetime | None, int, int, int | None, list[str] | None, str | None, str | None
]


def _select_live_viewers(*where: ColumnElement[bool]) -> LiveViewerSelect:
    """What authentication needs of a live token, in one row of plain columns: the token's
    id and last use; its active owner's id, organization and company; their permission
    set's permissions; the companies they manage and those they are key contact of."""
    return (
        select(
            ApiToken.id,
            ApiToken.last_used_at,
            User.id,
            User.organization_id,
            User.company_id,
            PermissionSet.permissions,
            _company_ids_of_user(CompanyManager),
            _company_ids_of_user(CompanyKeyContact),
        )
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(PermissionSet, PermissionSet.id == User.permission_set_id)
        .where(ApiToken.revoked_at.is_(None), User.is_active.is_(True), *where)
    )


TOKEN_HASH = "token_hash"


@lru_cache(maxsize=1)
def select_live_viewer() -> LiveViewerSelect:
    """The viewer row of the unrevoked token whose digest is bound as TOKEN_HASH, if its
    owner is active. Built once: it runs on every request, and building it and its cache
    key cost more than running it."""
    return _select_live_viewers(ApiToken.token_hash == bindparam(TOKEN_HASH, type_=String))


def select_live_viewer_by_token_id(token_id: int) -> LiveViewerSelect:
    """As select_live_viewer, by the token's id: for links issued on a token's behalf."""
    return _select_live_viewers(ApiToken.id == token_id)


def touch_token(token_id: int, now: datetime, not_since: datetime) -> Update:
    """Record use, at most once per interval: a write on every request would serialize reads."""
    return (
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= not_since),
        )
        .values(last_used_at=now)
    )


def select_token_by_digest(token_hash: str) -> Select[int]:
    return select(ApiToken.id).where(ApiToken.token_hash == token_hash)
