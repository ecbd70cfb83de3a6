"""Credential reads on the root Query."""

from __future__ import annotations

import strawberry
from strawberry import Info

from models.credential_queries import ArchivedFilter, CredentialFilter
from resolvers.context import RequestContext
from resolvers.credential import (
    resolve_credential_settings,
    resolve_credential_types,
    resolve_credentials_by_id,
    resolve_credentials_page,
)
from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.credential import CredentialNode
from schema.credential_settings import CredentialSettings
from schema.credential_type import CredentialTypeNode
from schema.ids import key_of
from schema.pagination import Connection

ArchivedFilterEnum = strawberry.enum(
    ArchivedFilter,
    name="ArchivedFilter",
    description="EXCLUDE hides archived credentials (the default); ONLY shows just them.",
)


@strawberry.input
class CredentialFilterInput:
    type_ids: list[strawberry.ID] | None = None
    holder_ids: list[strawberry.ID] | None = None
    archived: ArchivedFilterEnum = ArchivedFilter.EXCLUDE  # type: ignore[valid-type]

    def to_filter(self) -> CredentialFilter:
        def keys(ids: list[strawberry.ID] | None, type_name: str) -> list[int] | None:
            if ids is None:
                return None
            return [key for given in ids if (key := key_of(given, type_name)) is not None]

        return CredentialFilter(
            type_ids=keys(self.type_ids, "CredentialType"),
            holder_ids=keys(self.holder_ids, "User"),
            archived=self.archived,
        )


@strawberry.type
class CredentialQueries:
    @strawberry.field(description="The organization's credential types, by name.")
    async def credential_types(self, info: Info[RequestContext, None]) -> list[CredentialTypeNode]:
        return [CredentialTypeNode.from_model(t) for t in await resolve_credential_types(info)]

    @strawberry.field(description="The organization's credential settings.")
    async def credential_settings(self, info: Info[RequestContext, None]) -> CredentialSettings:
        return CredentialSettings.from_model(await resolve_credential_settings(info))

    @strawberry.field(description="A credential; null if it does not exist or is not visible.")
    async def credential(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> CredentialNode | None:
        found = await resolve_credentials_by_id(info, [key_of(id, "Credential")])
        return CredentialNode.from_model(found[0]) if found[0] is not None else None

    @strawberry.field(
        description="Credentials the viewer may see, newest first. Archived ones are left "
        "out unless the filter asks for them."
    )
    async def credentials(
        self,
        info: Info[RequestContext, None],
        filter: CredentialFilterInput | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[CredentialNode]:
        credential_filter = (filter or CredentialFilterInput()).to_filter()
        page = await resolve_credentials_page(info, credential_filter, first, after)
        return Connection.from_page(page, CredentialNode.from_model)
