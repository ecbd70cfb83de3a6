"""Media files attached to credential versions, and the log of who opened them.

A row names its bytes by `content_key` (see services.media.storage): versions holding the
same file share one stored object, which goes when the last row naming it goes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Select, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow


class CredentialMedia(TenantOwned, Base):
    __tablename__ = "credential_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("credential_versions.id", ondelete="CASCADE"), index=True
    )
    content_key: Mapped[str] = mapped_column(String(100), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaAccess(TenantOwned, Base):
    """One opening of a media file. Kept when the credential is deleted: ids are plain
    numbers here, and the file's name is copied."""

    __tablename__ = "media_access_log"
    __table_args__ = (Index("ix_media_access_log_organization_id_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int]
    credential_id: Mapped[int]
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    viewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def select_media_of_versions(version_ids: Collection[int]) -> Select[CredentialMedia]:
    return (
        select(CredentialMedia)
        .where(CredentialMedia.version_id.in_(version_ids))
        .order_by(CredentialMedia.version_id, CredentialMedia.id)
    )


def select_media_by_id(ids: Collection[int]) -> Select[CredentialMedia]:
    return select(CredentialMedia).where(CredentialMedia.id.in_(ids))


def select_media_of_credential(credential_id: int) -> Select[CredentialMedia]:
    return select(CredentialMedia).where(CredentialMedia.credential_id == credential_id)


def select_referenced_keys(keys: Collection[str]) -> Select[str]:
    """Which of the keys some row (of the session's organization) still names."""
    return select(CredentialMedia.content_key).where(CredentialMedia.content_key.in_(keys))


def select_stored_keys() -> Select[str]:
    """Every key rows name (unscoped: across organizations, for store maintenance)."""
    return select(CredentialMedia.content_key).distinct().order_by(CredentialMedia.content_key)


def select_access_page(before_id: int | None, limit: int) -> Select[MediaAccess]:
    """Newest first; the keyset position is the last id of the previous page."""
    statement = select(MediaAccess)
    if before_id is not None:
        statement = statement.where(MediaAccess.id < before_id)
    return statement.order_by(MediaAccess.id.desc()).limit(limit)


def count_access() -> Select[int]:
    return select(func.count(MediaAccess.id))
