"""The dashboard's counts: totals, per credential type and per company, for a filter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date

from strawberry import Info

from models.company import Company
from models.credential_filter import CredentialFilter
from models.credential_overview import COUNT_COLUMNS, select_overview
from models.credential_type import CredentialType
from resolvers.context import RequestContext
from resolvers.credential_list import check_filter, expiry_window
from services.visibility import search_scope, users_visible_to


@dataclass
class Counts:
    total: int = 0
    pending_approval: int = 0
    valid: int = 0
    expiring_soon: int = 0
    expired: int = 0
    no_expiry: int = 0
    archived: int = 0

    def add(self, values: dict[str, int]) -> None:
        for name in COUNT_COLUMNS:
            setattr(self, name, getattr(self, name) + int(values[name]))


assert tuple(f.name for f in fields(Counts)) == COUNT_COLUMNS


@dataclass
class Overview:
    on_date: date
    counts: Counts
    by_type: list[tuple[CredentialType, Counts]] = field(default_factory=list)
    # None: the organization's own people, who work for no company.
    by_company: list[tuple[Company | None, Counts]] = field(default_factory=list)


async def resolve_credential_overview(
    info: Info[RequestContext, None], credential_filter: CredentialFilter, on_date: date | None
) -> Overview:
    context = info.context
    viewer = context.require_viewer()
    check_filter(credential_filter)
    window = await expiry_window(context, on_date)
    statement = select_overview(
        users_visible_to(viewer),
        credential_filter.clauses_except_archived(window, search_scope(viewer)),
        credential_filter.archived,
        window,
    )
    async with context.read() as session:
        rows = (await session.execute(statement)).mappings().all()
    overview = Overview(on_date=window.on, counts=Counts())
    by_type: dict[int, Counts] = defaultdict(Counts)
    by_company: dict[int | None, Counts] = defaultdict(Counts)
    for row in rows:
        values = dict(row)
        overview.counts.add(values)
        by_type[row["type_id"]].add(values)
        by_company[row["company_id"]].add(values)
    loaders = context.loaders
    types = await loaders.credentials.type_by_id.load_many(list(by_type))
    overview.by_type = sorted(
        ((t, by_type[t.id]) for t in types if t is not None),
        key=lambda entry: (entry[0].name_key, entry[0].id),
    )
    loaded = await loaders.company_by_id.load_many([c for c in by_company if c is not None])
    companies = sorted((c for c in loaded if c is not None), key=lambda c: (c.name_key, c.id))
    overview.by_company = [(c, by_company[c.id]) for c in companies]
    if None in by_company:
        overview.by_company.append((None, by_company[None]))
    return overview
