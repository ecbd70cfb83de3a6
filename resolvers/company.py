"""Contractor companies the viewer may see."""

from __future__ import annotations

from strawberry import Info

from models.company import Company, select_companies
from resolvers.context import RequestContext


async def resolve_companies(info: Info[RequestContext, None]) -> list[Company]:
    context = info.context
    visible = context.require_viewer().visible_company_ids
    async with context.read() as session:
        companies = list(await session.scalars(select_companies(visible)))
    for company in companies:
        context.loaders.company_by_id.prime(company.id, company)
    return companies


async def resolve_companies_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[Company | None]:
    """Companies in the order asked; None where the id is malformed, unknown or not visible."""
    found = await info.context.loaders.company_by_id.load_many([i for i in ids if i is not None])
    by_id = {company.id: company for company in found if company is not None}
    return [by_id.get(i) if i is not None else None for i in ids]
