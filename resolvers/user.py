"""Users: the viewer, single users and the users list."""

from __future__ import annotations

from strawberry import Info

from models.user import (
    User,
    UserFilter,
    count_users,
    select_users_page,
)
from resolvers.context import RequestContext
from resolvers.errors import BadInputError, NotAuthenticatedError
from resolvers.pagination import Page, check_page_size, decode_cursor
from services.text import has_control_characters
from services.visibility import search_scope, users_visible_to


async def resolve_me(info: Info[RequestContext, None]) -> User:
    viewer = info.context.require_viewer()
    user = await info.context.loaders.user_by_id.load(viewer.user_id)
    if user is None:  # deactivated between authentication and now
        raise NotAuthenticatedError("This token's user no longer exists or is inactive.")
    return user


async def resolve_users_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[User | None]:
    """Users in the order asked; None where the id is malformed, unknown or not visible."""
    found = await info.context.loaders.user_by_id.load_many([i for i in ids if i is not None])
    by_id = {user.id: user for user in found if user is not None}
    return [by_id.get(i) if i is not None else None for i in ids]


async def resolve_users_page(
    info: Info[RequestContext, None], user_filter: UserFilter, first: int, after: str | None
) -> Page[User]:
    context = info.context
    viewer = context.require_viewer()
    first = check_page_size(first)
    if user_filter.search is not None and has_control_characters(user_filter.search):
        raise BadInputError("'search' must not contain control characters")
    position = decode_cursor(after, (str, int)) if after is not None else None
    visible = users_visible_to(viewer)
    emails = search_scope(viewer).emails
    async with context.read() as session:
        page = select_users_page(visible, emails, user_filter, position, first + 1)
        fetched = list(await session.scalars(page))

    async def count() -> int:
        async with context.read() as session:
            return int(await session.scalar(count_users(visible, emails, user_filter)) or 0)

    for user in fetched:
        context.loaders.user_by_id.prime(user.id, user)
    return Page.cut(
        fetched, first, lambda u: (u.name, u.id), has_previous=position is not None, count=count
    )
