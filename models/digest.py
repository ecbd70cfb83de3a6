"""The digests sent to those who look after other people: one row per recipient and
period, written in the transaction that queues the digest, so each is sent exactly once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Select, String, UniqueConstraint, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from models.base import Base, TenantOwned, utcnow
from models.notification import DigestFrequency, NotificationSettings
from models.user import User


class DigestRun(TenantOwned, Base):
    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("user_id", "period", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # DAILY or WEEKLY, and the period's first day (a week's Monday).
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    # What it counted (expiring, newlyExpired, pending, notCompliant); empty digests and
    # those of people who no longer look after anyone are recorded but not sent.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def claim_digest_run(
    dialect_name: str, organization_id: int, user_id: int, period: str, period_start: date
) -> Insert:
    """The run's row, unless another sweep wrote it first: RETURNING gives its id only to
    the one that did, so racing instances build and send each digest once."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return (
        insert(DigestRun)
        .values(
            organization_id=organization_id,
            user_id=user_id,
            period=period,
            period_start=period_start,
            counts={},
            sent=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(DigestRun.id)
    )


def select_due_digest_recipients(
    frequency: DigestFrequency, period_start: date
) -> Select[int, int]:
    """(user id, organization id) of the active users who chose the digest and have no
    run of it for the period yet."""
    done = exists().where(
        DigestRun.user_id == NotificationSettings.user_id,
        DigestRun.period == frequency.value,
        DigestRun.period_start == period_start,
    )
    return (
        select(NotificationSettings.user_id, NotificationSettings.organization_id)
        .join(User, User.id == NotificationSettings.user_id)
        .where(NotificationSettings.digest == frequency, User.is_active.is_(True), ~done)
        .order_by(NotificationSettings.user_id)
    )
