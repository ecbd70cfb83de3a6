"""The organization's credential settings; an organization without a row has the defaults."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow

DEFAULT_EXPIRING_SOON_DAYS = 30


class CredentialSettings(TenantOwned, Base):
    __tablename__ = "credential_settings"
    __table_args__ = (UniqueConstraint("organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    approvals_required: Mapped[bool] = mapped_column(default=True)
    media_optional: Mapped[bool] = mapped_column(default=False)
    expiring_soon_days: Mapped[int] = mapped_column(default=DEFAULT_EXPIRING_SOON_DAYS)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def defaults(cls, organization_id: int) -> CredentialSettings:
        return cls(
            organization_id=organization_id,
            approvals_required=True,
            media_optional=False,
            expiring_soon_days=DEFAULT_EXPIRING_SOON_DAYS,
        )


def select_settings() -> Select[CredentialSettings]:
    """The session's organization's settings row (tenancy scopes it), if one was saved."""
    return select(CredentialSettings)
