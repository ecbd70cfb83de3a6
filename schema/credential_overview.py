"""`credentialOverview`: the counts a dashboard shows above the credentials list."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import Info

from resolvers.context import RequestContext
from resolvers.credential_overview import Counts, Overview, resolve_credential_overview
from schema.company import CompanyType
from schema.credential_queries import CredentialFilterInput
from schema.credential_type import CredentialTypeNode


@strawberry.type(
    description="Counts of credentials. total and the status counts follow the filter's "
    "archived setting; archived counts the archived credentials matching the rest of the "
    "filter, whatever that setting."
)
class CredentialCounts:
    total: int
    pending_approval: int = strawberry.field(description="Latest version pending approval.")
    valid: int = strawberry.field(description="expiryStatus VALID on the overview's day.")
    expiring_soon: int
    expired: int
    no_expiry: int
    archived: int

    @classmethod
    def of(cls, counts: Counts) -> CredentialCounts:
        return cls(
            total=counts.total,
            pending_approval=counts.pending_approval,
            valid=counts.valid,
            expiring_soon=counts.expiring_soon,
            expired=counts.expired,
            no_expiry=counts.no_expiry,
            archived=counts.archived,
        )


@strawberry.type
class CredentialTypeCounts:
    type: CredentialTypeNode
    counts: CredentialCounts


@strawberry.type
class CompanyCredentialCounts:
    company: CompanyType | None = strawberry.field(
        description="Null for the organization's own people, who work for no company."
    )
    counts: CredentialCounts


@strawberry.type
class CredentialOverview:
    on_date: date = strawberry.field(description="The day expiry statuses are judged on.")
    counts: CredentialCounts
    by_type: list[CredentialTypeCounts] = strawberry.field(
        description="Types with at least one credential counted, by name."
    )
    by_company: list[CompanyCredentialCounts] = strawberry.field(
        description="Companies with at least one credential counted, by name; then people "
        "of no company."
    )

    @classmethod
    def of(cls, overview: Overview) -> CredentialOverview:
        return cls(
            on_date=overview.on_date,
            counts=CredentialCounts.of(overview.counts),
            by_type=[
                CredentialTypeCounts(
                    type=CredentialTypeNode.from_model(t), counts=CredentialCounts.of(c)
                )
                for t, c in overview.by_type
            ],
            by_company=[
                CompanyCredentialCounts(
                    company=CompanyType.from_model(company) if company is not None else None,
                    counts=CredentialCounts.of(c),
                )
                for company, c in overview.by_company
            ],
        )


@strawberry.type
class CredentialOverviewQueries:
    @strawberry.field(
        description="Counts for the credentials list's filter: in total, per type and per "
        "company, of what the viewer may see. Expiry statuses are judged on the filter's "
        "onDate (default today)."
    )
    async def credential_overview(
        self, info: Info[RequestContext, None], filter: CredentialFilterInput | None = None
    ) -> CredentialOverview:
        given = filter or CredentialFilterInput()
        return CredentialOverview.of(
            await resolve_credential_overview(info, given.to_filter(), given.on_date)
        )
