"""Reads of the delivery log: the organization's for CREDENTIALS_MANAGE, else one's own."""

from __future__ import annotations

from strawberry import Info

from models.delivery import (
    Delivery,
    DeliveryFilter,
    count_deliveries,
    select_deliveries_by_id,
    select_deliveries_page,
)
from resolvers.context import RequestContext
from resolvers.pagination import Page, check_page_size, decode_cursor
from services.delivery.policy import delivery_log_of


async def resolve_deliveries_page(
    info: Info[RequestContext, None], delivery_filter: DeliveryFilter, first: int, after: str | None
) -> Page[Delivery]:
    context = info.context
    only = delivery_log_of(context.require_viewer())
    first = check_page_size(first)
    before_id = decode_cursor(after, (int,))[0] if after is not None else None
    async with context.read() as session:
        fetched = list(
            await session.scalars(
                select_deliveries_page(delivery_filter, only, before_id, first + 1)
            )
        )

    async def count() -> int:
        async with context.read() as session:
            return int(await session.scalar(count_deliveries(delivery_filter, only)) or 0)

    return Page.cut(fetched, first, lambda d: (d.id,), has_previous=after is not None, count=count)


async def resolve_deliveries_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[Delivery | None]:
    only = delivery_log_of(info.context.require_viewer())
    wanted = [i for i in ids if i is not None]
    async with info.context.read() as session:
        found = {d.id: d for d in await session.scalars(select_deliveries_by_id(wanted))}

    def visible(key: int | None) -> Delivery | None:
        delivery = found.get(key) if key is not None else None
        if delivery is None or (only is not None and delivery.recipient_user_id != only):
            return None
        return delivery

    return [visible(key) for key in ids]
