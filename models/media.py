"""Media files attached to credential versions, and the log of who opened them.

A row names its bytes by `content_key` (see services.media.storage): versions holding the
same file share one stored object, which goes when the last row naming it goes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, Select, String, func, select
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


def count_media_of_versions(version_ids: Collection[int]) -> Select[int, int]:
    """(version id, how many files) for the versions that have any."""
    return (
        select(CredentialMedia.version_id, func.count())
        .where(CredentialMedia.version_id.in_(version_ids))
        .group_by(CredentialMedia.version_id)
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


@dataclass(frozen=True)
class AccessFilter:
    """Openings of one credential's files, of one holder's, by one viewer, within a time
    span; None leaves a criterion out."""

    credential_id: int | None = None
    holder_id: int | None = None
    viewer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.credential_id is not None:
            clauses.append(MediaAccess.credential_id == self.credential_id)
        if self.holder_id is not None:
            clauses.append(MediaAccess.holder_id == self.holder_id)
        if self.viewer_id is not None:
            clauses.append(MediaAccess.viewer_id == self.viewer_id)
        if self.since is not None:
            clauses.append(MediaAccess.at >= self.since)
        if self.until is not None:
            clauses.append(MediaAccess.at < self.until)
        return clauses


def select_access_page(
    access_filter: AccessFilter, before_id: int | None, limit: int
) -> Select[MediaAccess]:
    """Newest first; the keyset position is the last id of the previous page."""
    statement = select(MediaAccess).where(*access_filter.clauses())
    if before_id is not None:
        statement = statement.where(MediaAccess.id < before_id)
    return statement.order_by(MediaAccess.id.desc()).limit(limit)


def count_access(access_filter: AccessFilter) -> Select[int]:
    return select(func.count(MediaAccess.id)).where(*access_filter.clauses())
