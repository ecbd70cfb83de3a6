"""What the expiry scheduler has swept and sent.

The scheduler walks the calendar one day at a time, from the day after `swept_through`
to today: each day is one transaction that claims the state row, so instances racing on
it never sweep a day twice, and a day missed while the service was down is swept late.
`expiry_reminders` is the second guard: one row per version, kind and lead time.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    Enum,
    ForeignKey,
    Select,
    String,
    UniqueConstraint,
    and_,
    exists,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, aliased, mapped_column
from sqlalchemy.sql.dml import Insert

from models.base import Base, TenantOwned, utcnow
from models.credential import ApprovalStatus, Credential, CredentialVersion
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


def select_reminder_candidates(
    expiry_dates: Collection[date],
) -> Select[CredentialVersion, Credential, User]:
    """Versions expiring on the given days that reminders may speak of: the latest approved
    version of a live credential of an active holder. An index lookup per day on
    credential_versions.expiry_date: the cost follows the reminders due."""
    newer = aliased(CredentialVersion)
    superseded = exists().where(
        and_(
            newer.credential_id == CredentialVersion.credential_id,
            newer.number > CredentialVersion.number,
            newer.approval_status == ApprovalStatus.APPROVED,
        )
    )
    return (
        select(CredentialVersion, Credential, User)
        .join(Credential, Credential.id == CredentialVersion.credential_id)
        .join(User, User.id == Credential.holder_id)
        .where(
            CredentialVersion.expiry_date.in_(expiry_dates),
            CredentialVersion.approval_status == ApprovalStatus.APPROVED,
            Credential.archived_at.is_(None),
            User.is_active.is_(True),
            ~superseded,
        )
        .order_by(CredentialVersion.id)
    )


def select_sent_reminders(version_ids: Collection[int]) -> Select[int, ReminderKind, int]:
    return select(ExpiryReminder.version_id, ExpiryReminder.kind, ExpiryReminder.lead_days).where(
        ExpiryReminder.version_id.in_(version_ids)
    )
