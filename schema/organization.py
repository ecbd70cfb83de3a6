"""The organization a viewer belongs to."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import Info, relay

from models.organization import Organization as OrganizationModel
from resolvers.context import RequestContext
from resolvers.organization import resolve_organization


@strawberry.type(name="Organization")
class OrganizationType(relay.Node):
    id: relay.NodeID[int]
    name: str

    @classmethod
    def from_model(cls, organization: OrganizationModel) -> OrganizationType:
        return cls(id=organization.id, name=organization.name)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[OrganizationType | None]:
        organization = await resolve_organization(info)
        own = str(organization.id)
        return [cls.from_model(organization) if node_id == own else None for node_id in node_ids]
