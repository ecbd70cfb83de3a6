"""Credentials and their versions.

A credential is one user's qualification of one type; its versions are the history, the
highest `number` being the latest. `revision` counts every change to the credential and
its latest version: writers compare-and-swap it, so a concurrent change is a conflict,
never a lost update.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum as PyEnum
from enum import StrEnum

from sqlalchemy import (
    Date,
    Delete,
    Enum,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    delete,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow


class ApprovalStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ExpiryStatus(PyEnum):
    """The state of a version's dates on a day (the rules are in services.credentials.dates;
    list filters and counts state the same rules in SQL)."""

    VALID = "VALID"
    EXPIRING_SOON = "EXPIRING_SOON"
    EXPIRED = "EXPIRED"
    NO_EXPIRY = "NO_EXPIRY"


class Credential(TenantOwned, Base):
    __tablename__ = "credentials"
    __table_args__ = (
        # At most one live credential per holder and type: renewals are versions of it.
        Index(
            "uq_credentials_live_holder_type",
            "holder_id",
            "type_id",
            unique=True,
            sqlite_where=text("archived_at IS NULL"),
            postgresql_where=text("archived_at IS NULL"),
        ),
        # The dashboard's "last updated" order and its "show archived" filter.
        Index("ix_credentials_organization_id_updated_at", "organization_id", "updated_at", "id"),
        Index("ix_credentials_archived_at", "archived_at"),
        # The dashboard's counts: each holder's credentials with their summaries, read from
        # the index alone (people in company order, then their credentials).
        Index(
            "ix_credentials_holder_summary",
            "holder_id",
            "organization_id",
            "type_id",
            "archived_at",
            "latest_approval_status",
            "counting_from",
            "counting_expiry_date",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(
        ForeignKey("credential_types.id", ondelete="RESTRICT"), index=True
    )
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    latest_version_number: Mapped[int] = mapped_column(default=1)
    # The credential's id in the organization's own register, kept from a CSV import.
    external_id: Mapped[str | None] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(default=1)
    archived_at: Mapped[datetime | None]
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the dashboard's counts read instead of the versions, written only by triggers on
    # credential_versions (migration 0007 states the rule): the latest version's status,
    # and the expiry date of the version that counts on every day from counting_from on
    # (NULL: the versions decide). Deferred and never set by the application.
    latest_approval_status: Mapped[ApprovalStatus | None] = mapped_column(
        Enum(ApprovalStatus, native_enum=False, length=16), deferred=True, deferred_raiseload=True
    )
    counting_from: Mapped[date | None] = mapped_column(Date, deferred=True, deferred_raiseload=True)
    counting_expiry_date: Mapped[date | None] = mapped_column(
        Date, deferred=True, deferred_raiseload=True
    )

    # Every UPDATE of the row checks and bumps the revision: a concurrent change makes the
    # flush fail (StaleDataError) instead of silently overwriting it.
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012


class CredentialVersion(TenantOwned, Base):
    __tablename__ = "credential_versions"
    __table_args__ = (
        UniqueConstraint("credential_id", "number"),
        # The dashboard's approval filter: pending versions are few among many.
        Index("ix_credential_versions_approval_status", "approval_status", "credential_id"),
        # The expiry sweep: approved versions expiring on the days it looks at.
        Index(
            "ix_credential_versions_approval_status_expiry_date", "approval_status", "expiry_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    number: Mapped[int]
    issue_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date, index=True)
    credential_number: Mapped[str | None] = mapped_column(String(100))
    approval_status: Mapped[ApprovalStatus] = mapped_column(
        Enum(ApprovalStatus, native_enum=False, length=16)
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def select_latest_version(credential: Credential) -> Select[CredentialVersion]:
    return select(CredentialVersion).where(
        CredentialVersion.credential_id == credential.id,
        CredentialVersion.number == credential.latest_version_number,
    )


def select_live_credential(holder_id: int, type_id: int) -> Select[Credential]:
    """The holder's unarchived credential of a type, if any (there is at most one)."""
    return select(Credential).where(
        Credential.holder_id == holder_id,
        Credential.type_id == type_id,
        Credential.archived_at.is_(None),
    )


def delete_credential_rows(credential_id: int) -> Delete:
    """The credential; its versions and activity go with it (ON DELETE CASCADE)."""
    return delete(Credential).where(Credential.id == credential_id)


def select_type_in_use(type_id: int) -> Select[bool]:
    """Whether any credential, archived ones included, is of the type."""
    return select(exists().where(Credential.type_id == type_id))


def count_versions(credential_id: int) -> Select[int]:
    return select(func.count()).where(CredentialVersion.credential_id == credential_id)
