"""The activity log of credentials: every field change and lifecycle action, per version."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow


class ActivityAction(StrEnum):
    CREATED = "CREATED"
    VERSION_ADDED = "VERSION_ADDED"
    FIELD_CHANGED = "FIELD_CHANGED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ARCHIVED = "ARCHIVED"
    RESTORED = "RESTORED"


class CredentialActivity(TenantOwned, Base):
    __tablename__ = "credential_activity"
    __table_args__ = (Index("ix_credential_activity_credential_id_id", "credential_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("credential_versions.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[ActivityAction] = mapped_column(
        Enum(ActivityAction, native_enum=False, length=20)
    )
    field: Mapped[str | None] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
