"""Credential reads: types, settings, single credentials and versions, the list."""

from __future__ import annotations

from strawberry import Info

from models.credential import Credential, CredentialVersion
from models.credential_settings import CredentialSettings
from models.credential_type import CredentialType, select_credential_types
from resolvers.context import RequestContext


async def resolve_credential_types(info: Info[RequestContext, None]) -> list[CredentialType]:
    async with info.context.read() as session:
        return list(await session.scalars(select_credential_types()))


async def resolve_credential_settings(info: Info[RequestContext, None]) -> CredentialSettings:
    return await info.context.loaders.credentials.settings()


async def resolve_credentials_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[Credential | None]:
    loader = info.context.loaders.credentials.credential_by_id
    found = await loader.load_many([i for i in ids if i is not None])
    by_id = {c.id: c for c in found if c is not None}
    return [by_id.get(i) if i is not None else None for i in ids]


async def resolve_versions_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[CredentialVersion | None]:
    loader = info.context.loaders.credentials.version_by_id
    found = await loader.load_many([i for i in ids if i is not None])
    by_id = {v.id: v for v in found if v is not None}
    return [by_id.get(i) if i is not None else None for i in ids]
