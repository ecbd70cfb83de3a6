"""Reads of notifications (the viewer's own only) and of reminder settings."""

from __future__ import annotations

from strawberry import Info

from models.notification import (
    Notification,
    NotificationSettings,
    count_notifications,
    select_notifications_of,
    select_notifications_page,
)
from resolvers.context import RequestContext
from resolvers.pagination import Page, check_page_size, decode_cursor
from services.errors import DomainError
from services.notifications.settings import load_notification_settings


async def resolve_notifications_page(
    info: Info[RequestContext, None], first: int, after: str | None, unread_only: bool
) -> Page[Notification]:
    context = info.context
    viewer = context.require_viewer()
    first = check_page_size(first)
    before_id = decode_cursor(after, (int,))[0] if after is not None else None
    async with context.read() as session:
        fetched = list(
            await session.scalars(
                select_notifications_page(viewer.user_id, unread_only, before_id, first + 1)
            )
        )

    async def count() -> int:
        async with context.read() as session:
            return int(await session.scalar(count_notifications(viewer.user_id, unread_only)) or 0)

    return Page.cut(fetched, first, lambda n: (n.id,), has_previous=after is not None, count=count)


async def resolve_notifications_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[Notification | None]:
    viewer = info.context.require_viewer()
    wanted = [i for i in ids if i is not None]
    async with info.context.read() as session:
        found = {
            n.id: n for n in await session.scalars(select_notifications_of(viewer.user_id, wanted))
        }
    return [found.get(i) if i is not None else None for i in ids]


async def resolve_notification_settings(
    info: Info[RequestContext, None], user_id: int
) -> NotificationSettings | None:
    """None for a user the viewer may not see or whose settings are not theirs to read."""
    async with info.context.read() as session:
        try:
            return await load_notification_settings(session, info.context.require_viewer(), user_id)
        except DomainError:
            return None
