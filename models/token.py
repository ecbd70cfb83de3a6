"""API tokens: opaque bearer secrets, of which only a hash is ever stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Select, String, Update, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow
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


def _select_live_tokens() -> Select[ApiToken, User, PermissionSet]:
    """Unrevoked tokens of active users, each with its owner and their permission set."""
    return (
        select(ApiToken, User, PermissionSet)
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(PermissionSet, PermissionSet.id == User.permission_set_id)
        .where(ApiToken.revoked_at.is_(None), User.is_active.is_(True))
    )


def select_live_token(token_hash: str) -> Select[ApiToken, User, PermissionSet]:
    """The unrevoked token with this digest, its active owner and their permission set."""
    return _select_live_tokens().where(ApiToken.token_hash == token_hash)


def select_live_token_by_id(token_id: int) -> Select[ApiToken, User, PermissionSet]:
    """As select_live_token, by id: for links issued on a token's behalf."""
    return _select_live_tokens().where(ApiToken.id == token_id)


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
