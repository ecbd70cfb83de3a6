"""The root Query type."""

from __future__ import annotations

import strawberry
from strawberry import Info, relay

from resolvers.company import resolve_companies
from resolvers.context import RequestContext
from resolvers.organization import resolve_organization
from resolvers.pagination import DEFAULT_PAGE_SIZE
from resolvers.user import resolve_me, resolve_users_page
from schema.company import CompanyType
from schema.credential_overview import CredentialOverviewQueries
from schema.credential_queries import CredentialQueries
from schema.csv_io import CsvQueries
from schema.deliveries import DeliveryQueries
from schema.events import EventQueries
from schema.job_role_queries import JobRoleQueries
from schema.media import MediaQueries
from schema.node import resolve_global_ids
from schema.notifications import NotificationQueries
from schema.organization import OrganizationType
from schema.pagination import Connection
from schema.user import UserFilterInput, UserType
from schema.webhooks import WebhookQueries


@strawberry.type
class Query(
    CredentialQueries,
    CredentialOverviewQueries,
    CsvQueries,
    DeliveryQueries,
    WebhookQueries,
    EventQueries,
    JobRoleQueries,
    MediaQueries,
    NotificationQueries,
):
    @strawberry.field(
        description="Any object by its global id; null if it does not exist or is not visible."
    )
    async def node(self, info: Info[RequestContext, None], id: strawberry.ID) -> relay.Node | None:
        return (await resolve_global_ids(info, [id]))[0]

    @strawberry.field(
        description="Objects by global id, in order; null for each one missing or not "
        "visible. At most 100 ids."
    )
    async def nodes(
        self, info: Info[RequestContext, None], ids: list[strawberry.ID]
    ) -> list[relay.Node | None]:
        return await resolve_global_ids(info, ids)

    @strawberry.field(description="The user the API token belongs to.")
    async def me(self, info: Info[RequestContext, None]) -> UserType:
        return UserType.from_model(await resolve_me(info))

    @strawberry.field(description="The viewer's organization.")
    async def organization(self, info: Info[RequestContext, None]) -> OrganizationType:
        return OrganizationType.from_model(await resolve_organization(info))

    @strawberry.field(
        description="Users the viewer may see, by name. User managers and credential "
        "managers see everyone; company managers and key contacts their companies' "
        "workers; everyone else themselves."
    )
    async def users(
        self,
        info: Info[RequestContext, None],
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: UserFilterInput | None = None,
    ) -> Connection[UserType]:
        user_filter = filter.to_filter() if filter is not None else UserFilterInput().to_filter()
        page = await resolve_users_page(info, user_filter, first, after)
        return Connection.from_page(page, UserType.from_model)

    @strawberry.field(description="Contractor companies the viewer may see, by name.")
    async def companies(self, info: Info[RequestContext, None]) -> list[CompanyType]:
        return [CompanyType.from_model(c) for c in await resolve_companies(info)]
