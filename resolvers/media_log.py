"""The organization's record of who opened which credential files."""

from __future__ import annotations

from strawberry import Info

from models.media import AccessFilter, MediaAccess, count_access, select_access_page
from resolvers.context import RequestContext
from resolvers.errors import ForbiddenError
from resolvers.pagination import Page, check_page_size, decode_cursor
from services.credentials.policy import can_read_media_log


async def resolve_media_access_page(
    info: Info[RequestContext, None], access_filter: AccessFilter, first: int, after: str | None
) -> Page[MediaAccess]:
    context = info.context
    if not can_read_media_log(context.require_viewer()):
        raise ForbiddenError("The media access log needs the CREDENTIALS_MANAGE permission.")
    first = check_page_size(first)
    before_id = decode_cursor(after, (int,))[0] if after is not None else None
    async with context.read() as session:
        fetched = list(
            await session.scalars(select_access_page(access_filter, before_id, first + 1))
        )

    async def count() -> int:
        async with context.read() as session:
            return int(await session.scalar(count_access(access_filter)) or 0)

    return Page.cut(fetched, first, lambda a: (a.id,), has_previous=after is not None, count=count)
