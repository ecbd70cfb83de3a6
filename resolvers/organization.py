"""The viewer's organization."""

from __future__ import annotations

from strawberry import Info

from models.organization import Organization
from resolvers.context import RequestContext


async def resolve_organization(info: Info[RequestContext, None]) -> Organization:
    context = info.context
    organization_id = context.require_viewer().organization_id
    async with context.read() as session:
        organization = await session.get(Organization, organization_id)
    assert organization is not None, "a viewer's organization cannot vanish: it owns the token"
    return organization
