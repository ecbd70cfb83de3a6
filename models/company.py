"""Contractor companies, the managers who look after them and their key contacts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import CompoundSelect, ForeignKey, Select, String, UniqueConstraint, literal, select
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, TenantOwned, utcnow


class Company(TenantOwned, Base):
    __tablename__ = "companies"
    __table_args__ = (UniqueConstraint("organization_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # lower(name): unique per organization
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("name")
    def _keep_name_key(self, _: str, name: str) -> str:
        self.name_key = name.strip().casefold()
        return name


class CompanyManager(TenantOwned, Base):
    """A user (holding COMPANIES_MANAGE) assigned to look after a company's workers."""

    __tablename__ = "company_managers"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CompanyKeyContact(TenantOwned, Base):
    """A contractor's own contact person: sees their company's workers, nothing else."""

    __tablename__ = "company_key_contacts"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


def select_overseen_company_ids(user_id: int) -> CompoundSelect[int, bool]:
    """(company id, is key contact) for each company the user manages or is contact of."""
    managed = select(CompanyManager.company_id, literal(False)).where(
        CompanyManager.user_id == user_id
    )
    contact = select(CompanyKeyContact.company_id, literal(True)).where(
        CompanyKeyContact.user_id == user_id
    )
    return managed.union_all(contact)


def select_companies(visible_ids: Collection[int] | None) -> Select[Company]:
    """Companies in name order; `visible_ids` None means all of the organization's."""
    statement = select(Company).order_by(Company.name_key, Company.id)
    if visible_ids is not None:
        statement = statement.where(Company.id.in_(visible_ids))
    return statement


def select_company_named(organization_id: int, name: str) -> Select[int]:
    """The id of the organization's company of that name, in any case."""
    return select(Company.id).where(
        Company.organization_id == organization_id, Company.name_key == name.strip().casefold()
    )
