"""Permission sets: named bundles of the product's permissions, one per user at most."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Select, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, TenantOwned, utcnow


class Permission(StrEnum):
    """The permissions the product knows, by the names its admins see."""

    CREDENTIALS_MANAGE = "CREDENTIALS_MANAGE"
    """Credential types, the organization's credential settings, approve and reject."""
    USERS_MANAGE = "USERS_MANAGE"
    """"Platform management: Users": manage other users' credentials and notifications."""
    COMPANIES_MANAGE = "COMPANIES_MANAGE"
    """"Companies: Manage": contractor companies and their workers' credentials."""


class PermissionSet(TenantOwned, Base):
    __tablename__ = "permission_sets"
    __table_args__ = (UniqueConstraint("organization_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # lower(name): unique per organization
    # A short list of Permission values; validated by services.identity on write.
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("name")
    def _keep_name_key(self, _: str, name: str) -> str:
        self.name_key = name.strip().casefold()
        return name

    def granted(self) -> frozenset[Permission]:
        return granted(self.permissions)


def granted(names: Iterable[str] | None) -> frozenset[Permission]:
    """The permissions a set's stored names grant; names the product no longer knows
    grant nothing."""
    return frozenset(Permission(p) for p in names or () if p in Permission.__members__)


def select_permission_set_named(organization_id: int, name: str) -> Select[int]:
    """The id of the organization's permission set of that name, in any case."""
    return select(PermissionSet.id).where(
        PermissionSet.organization_id == organization_id,
        PermissionSet.name_key == name.strip().casefold(),
    )
