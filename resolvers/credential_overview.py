"""The dashboard's counts: totals, per credential type and per company, for a filter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from strawberry import Info

from models.company import Company
from models.credential import ExpiryStatus
from models.credential_filter import CredentialFilter
from models.credential_overview import CodeMeaning, meaning_of, select_overview, type_and_code_of
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

    def count(self, meaning: CodeMeaning, n: int) -> None:
        """`n` credentials of a row of select_overview."""
        if meaning.archived:
            self.archived += n
        status = meaning.status
        if status is None:
            return
        self.total += n
        if meaning.pending:
            self.pending_approval += n
        if status is ExpiryStatus.VALID:
            self.valid += n
        elif status is ExpiryStatus.EXPIRING_SOON:
            self.expiring_soon += n
        elif status is ExpiryStatus.EXPIRED:
            self.expired += n
        else:
            self.no_expiry += n


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
    visible = users_visible_to(viewer)
    conditions = credential_filter.clauses_except_archived(window, search_scope(viewer))
    join_latest = credential_filter.names_latest_version
    statement = select_overview(
        visible, conditions, credential_filter.archived, window, join_latest_version=join_latest
    )
    async with context.read() as session:
        rows = (await session.execute(statement)).all()
    overview = Overview(on_date=window.on, counts=Counts())
    by_type: dict[int, Counts] = defaultdict(Counts)
    by_company: dict[int | None, Counts] = defaultdict(Counts)
    meanings: dict[int, CodeMeaning] = {}
    for type_and_code, company_id, n in rows:
        type_id, code = type_and_code_of(type_and_code)
        meaning = meanings.get(code)
        if meaning is None:
            meaning = meanings[code] = meaning_of(code, credential_filter.archived)
        for counts in (overview.counts, by_type[type_id], by_company[company_id]):
            counts.count(meaning, n)
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
