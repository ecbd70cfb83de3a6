"""What the expiry scheduler has sent, and the claim its instances share.

The sweep judges each version inside the reminder horizon from state (see
services.notifications.reminder_stage); `expiry_reminders` holds what was sent, one row per
version, kind and lead time, and the state row is the claim that serializes the instances'
writes (`swept_through`: the day of the last sweep that wrote).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    Enum,
    ForeignKey,
    Row,
    Select,
    String,
    UniqueConstraint,
    and_,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, aliased, mapped_column
from sqlalchemy.sql.dml import Insert

from models.base import Base, TenantOwned, utcnow
from models.credential import ApprovalStatus, Credential, CredentialVersion
from models.notification import NotificationSettings
from models.user import User

EXPIRY_SWEEP = "expiry"


class ReminderKind(StrEnum):
    EXPIRING_SOON = "EXPIRING_SOON"
    EXPIRED = "EXPIRED"


class SchedulerState(Base):
    """One row per scheduled job; not tenant-owned: one sweep serves every organization."""

    __tablename__ = "scheduler_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    swept_through: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExpiryReminder(TenantOwned, Base):
    __tablename__ = "expiry_reminders"
    __table_args__ = (UniqueConstraint("version_id", "kind", "lead_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("credential_versions.id", ondelete="CASCADE")
    )
    kind: Mapped[ReminderKind] = mapped_column(Enum(ReminderKind, native_enum=False, length=20))
    lead_days: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


def insert_state_row(dialect_name: str, name: str) -> Insert:
    """Creates the job's state row unless it exists: racing first runs both succeed."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(SchedulerState).values(name=name).on_conflict_do_nothing()


def claim_state(name: str, skip_locked: bool) -> Select[SchedulerState]:
    """The job's state row, locked until the transaction ends; with skip_locked, nothing
    when another instance holds it (PostgreSQL; SQLite's writers are serialized anyway)."""
    return (
        select(SchedulerState)
        .where(SchedulerState.name == name)
        .with_for_update(skip_locked=skip_locked)
    )


# A version's id, expiry date and holder; the holder's saved choice of reminders and lead
# times (NULLs: the defaults); the nearest lead time reminded of already; EXPIRED sent.
ReminderCandidate = Row[int, date, int, bool | None, list[int] | None, int | None, bool]


def select_reminder_candidates(
    expiring_from: date,
    expiring_through: date,
    *,
    holder_ids: Collection[int] | None = None,
    version_ids: Collection[int] | None = None,
) -> Select[int, date, int, bool | None, list[int] | None, int | None, bool]:
    """What the sweep judges a reminder by, for each version that reminders may speak of
    (the latest approved version of a live credential of an active holder) expiring in the
    range: its id, expiry date and holder, the holder's saved choice (NULLs: the defaults),
    the nearest lead time already reminded of, and whether EXPIRED was sent.

    A range scan of (approval status, expiry date): the cost follows the versions inside
    the reminder horizon, not the size of the register."""
    newer = aliased(CredentialVersion)
    superseded = exists().where(
        and_(
            newer.credential_id == CredentialVersion.credential_id,
            newer.number > CredentialVersion.number,
            newer.approval_status == ApprovalStatus.APPROVED,
        )
    )
    nearest_sent_lead = (
        select(func.min(ExpiryReminder.lead_days))
        .where(
            ExpiryReminder.version_id == CredentialVersion.id,
            ExpiryReminder.kind == ReminderKind.EXPIRING_SOON,
        )
        .scalar_subquery()
    )
    expired_sent = exists().where(
        ExpiryReminder.version_id == CredentialVersion.id,
        ExpiryReminder.kind == ReminderKind.EXPIRED,
    )
    statement = (
        select(
            CredentialVersion.id,
            CredentialVersion.expiry_date,
            Credential.holder_id,
            NotificationSettings.expiry_reminders,
            NotificationSettings.lead_days,
            nearest_sent_lead,
            expired_sent,
        )
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .join(User, User.id == Credential.holder_id)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == Credential.holder_id)
        .where(
            CredentialVersion.approval_status == ApprovalStatus.APPROVED,
            CredentialVersion.expiry_date.between(expiring_from, expiring_through),
            Credential.archived_at.is_(None),
            User.is_active.is_(True),
            ~superseded,
        )
    )
    if holder_ids is not None:
        statement = statement.where(Credential.holder_id.in_(holder_ids))
    if version_ids is not None:
        statement = statement.where(CredentialVersion.id.in_(version_ids))
    return statement.order_by(CredentialVersion.id)


def select_reminder_targets(
    version_ids: Collection[int],
) -> Select[int, int, int, int, int]:
    """(version id, credential id, organization id, holder id, type id): what a reminder's
    event names."""
    return (
        select(
            CredentialVersion.id,
            Credential.id,
            Credential.organization_id,
            Credential.holder_id,
            Credential.type_id,
        )
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .where(CredentialVersion.id.in_(version_ids))
        .order_by(CredentialVersion.id)
    )


def insert_reminders() -> Insert:
    """What a sweep sent, many rows at once."""
    return insert(ExpiryReminder.__table__)  # type: ignore[arg-type]
