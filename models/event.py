"""The durable, ordered log of credential events, written in the same transaction as the
change it records (a transactional outbox): the real-time layer delivers from it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, Index
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow


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
