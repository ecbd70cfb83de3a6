"""The dashboard's counts: totals, per credential type and per company, for a filter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from strawberry import Info

from models.company import Company
from models.credential import ExpiryStatus
from models.credential_filter import CredentialFilter
from models.credential_overview import select_overview
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

    def add(self, other: Counts) -> None:
        for name in _COUNT_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNT_NAMES = tuple(f.name for f in fields(Counts))
_STATUS_FIELD = {
    ExpiryStatus.VALID.value: "valid",
    ExpiryStatus.EXPIRING_SOON.value: "expiring_soon",
    ExpiryStatus.EXPIRED.value: "expired",
    ExpiryStatus.NO_EXPIRY.value: "no_expiry",
}


def _counts_of(rows: Iterable[Sequence[Any]]) -> dict[tuple[int, int | None], Counts]:
    """Counts per (type, company) from select_overview's rows (a status only where the
    row's credentials are included by the filter's archived setting)."""
    counts: dict[tuple[int, int | None], Counts] = defaultdict(Counts)
    for type_id, company_id, is_archived, is_pending, status, n in rows:
        entry = counts[(type_id, company_id)]
        if is_archived:
            entry.archived += n
        if status is None:  # not included: only the archived count
            continue
        entry.total += n
        if is_pending:
            entry.pending_approval += n
        field_name = _STATUS_FIELD[status]
        setattr(entry, field_name, getattr(entry, field_name) + n)
    return counts


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
        join_latest_version=credential_filter.names_latest_version,
    )
    async with context.read() as session:
        rows = (await session.execute(statement)).all()
    overview = Overview(on_date=window.on, counts=Counts())
    by_type: dict[int, Counts] = defaultdict(Counts)
    by_company: dict[int | None, Counts] = defaultdict(Counts)
    for (type_id, company_id), counts in _counts_of(rows).items():
        overview.counts.add(counts)
        by_type[type_id].add(counts)
        by_company[company_id].add(counts)
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
