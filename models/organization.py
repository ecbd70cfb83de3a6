"""Organizations: the tenants. Every other row belongs to one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, String, select
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def select_organization_named(name: str) -> Select[int]:
    return select(Organization.id).where(Organization.name == name).order_by(Organization.id)
