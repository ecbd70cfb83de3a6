"""Credential types: what kind of qualification, and which details its credentials carry."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, Select, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, TenantOwned, utcnow


class FieldRule(StrEnum):
    REQUIRED = "REQUIRED"
    OPTIONAL = "OPTIONAL"
    NOT_USED = "NOT_USED"


def _rule_column() -> Mapped[FieldRule]:
    return mapped_column(Enum(FieldRule, native_enum=False, length=16))


class CredentialType(TenantOwned, Base):
    __tablename__ = "credential_types"
    __table_args__ = (UniqueConstraint("organization_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # lower(name): unique per organization
    description: Mapped[str] = mapped_column(Text, default="")
    issue_date_rule: Mapped[FieldRule] = _rule_column()
    expiry_date_rule: Mapped[FieldRule] = _rule_column()
    media_rule: Mapped[FieldRule] = _rule_column()
    # Proposes the expiry date from the issue date when none is given.
    default_validity_months: Mapped[int | None]
    never_expires: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("name")
    def _keep_name_key(self, _: str, name: str) -> str:
        self.name_key = name.strip().casefold()
        return name


def select_credential_types() -> Select[CredentialType]:
    return select(CredentialType).order_by(CredentialType.name_key, CredentialType.id)


def select_type_by_name_key(name_key: str) -> Select[CredentialType]:
    return select(CredentialType).where(CredentialType.name_key == name_key)


def select_types_by_id(ids: Collection[int]) -> Select[CredentialType]:
    return select(CredentialType).where(CredentialType.id.in_(ids))
