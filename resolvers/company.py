"""Contractor companies the viewer may see."""

from __future__ import annotations

from strawberry import Info

from models.company import Company, select_companies
from models.user import User, UserFilter
from resolvers.context import RequestContext
from resolvers.pagination import Page, check_page_size
from resolvers.user import resolve_users_page


async def resolve_companies(info: Info[RequestContext, None]) -> list[Company]:
    context = info.context
    listed = context.require_viewer().listed_company_ids
    async with context.read() as session:
        companies = list(await session.scalars(select_companies(listed)))
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


async def resolve_company_workers(
    info: Info[RequestContext, None], company_id: int, first: int, after: str | None
) -> Page[User]:
    """A company's workers the viewer may see, by name. The first page of every company
    in a list comes from one batched statement (and one count); later pages from the
    users connection's own keyset query."""
    if after is not None:
        return await resolve_users_page(info, UserFilter(company_ids=[company_id]), first, after)
    first = check_page_size(first)
    loaders = info.context.loaders
    fetched = await loaders.first_workers_by_company.load((company_id, first + 1))

    async def count() -> int:
        return await loaders.worker_count_by_company.load(company_id)

    return Page.cut(fetched, first, lambda u: (u.name, u.id), has_previous=False, count=count)
