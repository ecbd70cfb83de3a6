"""In-app notifications and each user's choice of expiry reminders."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Select,
    Update,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import ReturningInsert

from models.base import Base, TenantOwned, utcnow

DEFAULT_LEAD_DAYS: tuple[int, ...] = (30, 7, 1, 0)


class DigestFrequency(StrEnum):
    """How often someone who looks after others gets a summary by email."""

    NONE = "NONE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"


class NotificationSettings(TenantOwned, Base):
    """A user's reminder settings; a user without a row has the defaults."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    expiry_reminders: Mapped[bool] = mapped_column(default=True)
    # Days before expiry to remind at, 0 being the expiry day itself.
    lead_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: list(DEFAULT_LEAD_DAYS))
    # Notification kinds (NotificationKind values) the user does not want by email; in-app
    # is always on. Kinds added later start on.
    email_off: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    digest: Mapped[DigestFrequency] = mapped_column(
        Enum(DigestFrequency, native_enum=False, length=10),
        default=DigestFrequency.NONE,
        server_default=DigestFrequency.NONE.value,
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def defaults(cls, organization_id: int, user_id: int) -> NotificationSettings:
        return cls(
            organization_id=organization_id,
            user_id=user_id,
            expiry_reminders=True,
            lead_days=list(DEFAULT_LEAD_DAYS),
            email_off=[],
            digest=DigestFrequency.NONE,
        )

    def wants_email(self, kind: str) -> bool:
        return kind not in self.email_off


class NotificationKind(StrEnum):
    APPROVED = "APPROVED"
    RESUBMISSION_REQUESTED = "RESUBMISSION_REQUESTED"
    EXPIRING_SOON = "EXPIRING_SOON"
    EXPIRED = "EXPIRED"


class Notification(TenantOwned, Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=30)
    )
    # No foreign keys to the credential: a notification outlives its deletion.
    credential_id: Mapped[int]
    type_id: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


def select_notification_settings(user_ids: Collection[int]) -> Select[NotificationSettings]:
    return select(NotificationSettings).where(NotificationSettings.user_id.in_(user_ids))


def select_notifications_page(
    user_id: int, unread_only: bool, before_id: int | None, limit: int
) -> Select[Notification]:
    """A user's notifications, newest first, after a keyset cursor."""
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    if before_id is not None:
        statement = statement.where(Notification.id < before_id)
    return statement.order_by(Notification.id.desc()).limit(limit)


def count_notifications(user_id: int, unread_only: bool) -> Select[int]:
    statement = select(func.count()).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return statement


def select_notifications_of(user_id: int, ids: Sequence[int]) -> Select[Notification]:
    return select(Notification).where(Notification.user_id == user_id, Notification.id.in_(ids))


def mark_read(user_id: int, ids: Sequence[int], now: datetime) -> Update:
    return (
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.id.in_(ids),
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    )


def select_custom_lead_days() -> Select[int, list[int]]:
    """Every holder's saved lead times, with reminders on: the sweep looks further ahead
    for those who chose a lead time beyond the defaults' longest."""
    return select(NotificationSettings.user_id, NotificationSettings.lead_days).where(
        NotificationSettings.expiry_reminders.is_(True)
    )


def insert_notifications_returning_ids() -> ReturningInsert[int]:
    """Many notifications in one statement; their ids in the order of the rows given."""
    table = Notification.__table__
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)  # type: ignore[arg-type]
