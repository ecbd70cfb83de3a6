"""The durable, ordered log of credential events, written in the same transaction as the
change it records (a transactional outbox): the real-time layer delivers from it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, Index, Select, func, insert, select
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column
from sqlalchemy.sql.dml import Insert

from models.base import Base, TenantOwned, utcnow
from models.tenancy import TenantSession


class CredentialEventKind(StrEnum):
    SUBMITTED = "SUBMITTED"
    VERSION_ADDED = "VERSION_ADDED"
    VERSION_EDITED = "VERSION_EDITED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ARCHIVED = "ARCHIVED"
    RESTORED = "RESTORED"
    DELETED = "DELETED"
    EXPIRING_SOON = "EXPIRING_SOON"
    EXPIRED = "EXPIRED"


class CredentialEvent(TenantOwned, Base):
    """No foreign keys to the credential: a DELETED event outlives what it speaks of."""

    __tablename__ = "credential_events"
    __table_args__ = (Index("ix_credential_events_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CredentialEventKind] = mapped_column(
        Enum(CredentialEventKind, native_enum=False, length=20)
    )
    credential_id: Mapped[int]
    version_id: Mapped[int | None]
    holder_id: Mapped[int]
    type_id: Mapped[int]
    actor_id: Mapped[int | None]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# Readers resume "after event id N", so within an organization events must become visible
# in id order. SQLite serializes writers anyway; on PostgreSQL two transactions can commit
# out of sequence order, so event writers of one organization take a transaction-scoped
# advisory lock before their first event gets its id, and hold it until commit.
_EVENT_LOCK_NAMESPACE = 0x43455654
_WRITTEN_KEY = "credential_event_organizations"


@orm_event.listens_for(TenantSession, "before_flush")
def _order_event_writers(session: Session, _: UOWTransaction, __: Any) -> None:
    organizations = {obj.organization_id for obj in session.new if isinstance(obj, CredentialEvent)}
    for organization_id in sorted(organizations):
        prepare_event_writes(session, organization_id)


def prepare_event_writes(session: Session, organization_id: int) -> None:
    """Before inserting events of an organization in this transaction: takes the ordering
    lock (PostgreSQL) and notes the organization for the after-commit signal. ORM flushes
    of CredentialEvent do this themselves; bulk Core inserts must call it first."""
    written: set[int] = session.info.setdefault(_WRITTEN_KEY, set())
    if organization_id in written:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            select(func.pg_advisory_xact_lock(_EVENT_LOCK_NAMESPACE, organization_id))
        )
    written.add(organization_id)


def organizations_with_new_events(session: Session) -> frozenset[int]:
    """Organizations the session's transaction wrote events for: after its commit,
    subscribers of those organizations have something new to read."""
    return frozenset(session.info.get(_WRITTEN_KEY, ()))


def select_events_after(after_id: int, limit: int) -> Select[CredentialEvent]:
    """The session's organization's events after an id, oldest first (tenancy scopes it)."""
    return (
        select(CredentialEvent)
        .where(CredentialEvent.id > after_id)
        .order_by(CredentialEvent.id)
        .limit(limit)
    )


def select_last_event_id() -> Select[int | None]:
    return select(func.max(CredentialEvent.id))


def insert_events() -> Insert:
    """Many events at once (Core: a bulk write's rows need none of the ORM's bookkeeping);
    call prepare_event_writes first."""
    return insert(CredentialEvent.__table__)  # type: ignore[arg-type]
