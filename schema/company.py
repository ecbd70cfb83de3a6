"""Contractor companies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import strawberry
from strawberry import Info, relay

from models.company import Company as CompanyModel
from resolvers.company import resolve_companies_by_id, resolve_company_workers
from resolvers.context import RequestContext
from resolvers.job_role import resolve_company_compliance
from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.ids import local_ids
from schema.job_role import ComplianceReport
from schema.pagination import Connection
from schema.user import UserType


@strawberry.type(name="Company")
class CompanyType(relay.Node):
    id: relay.NodeID[int]
    name: str
    contact_email: str | None
    contact_phone: str | None
    address: str | None

    @strawberry.field(description="The company's workers that the viewer may see.")
    async def workers(
        self,
        info: Info[RequestContext, None],
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[UserType]:
        page = await resolve_company_workers(info, self.id, first, after)
        return Connection.from_page(page, UserType.from_model)

    @strawberry.field(
        description="Compliance of each job role held by each of the company's workers the "
        "viewer may see, on the day (default today; may be in the future)."
    )
    async def compliance(
        self, info: Info[RequestContext, None], on_date: date | None = None
    ) -> ComplianceReport:
        on, results = await resolve_company_compliance(info, self.id, on_date)
        return ComplianceReport.of(on, results)

    @classmethod
    def from_model(cls, company: CompanyModel) -> CompanyType:
        return cls(
            id=company.id,
            name=company.name,
            contact_email=company.contact_email,
            contact_phone=company.contact_phone,
            address=company.address,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[CompanyType | None]:
        companies = await resolve_companies_by_id(info, local_ids(node_ids))
        return [cls.from_model(c) if c is not None else None for c in companies]
