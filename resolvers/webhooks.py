"""Webhook endpoints and their delivery log: reads for CREDENTIALS_MANAGE, within the
viewer's organization (the session's scope: another's endpoint is not found)."""

from __future__ import annotations

from collections import defaultdict

from strawberry import Info

from models.delivery import Delivery, DeliveryStatus
from models.permission import Permission
from models.webhook import (
    WebhookAttempt,
    WebhookEndpoint,
    select_attempts_of,
    select_endpoints,
    select_webhook_deliveries_page,
)
from resolvers.context import RequestContext
from resolvers.errors import ForbiddenError
from resolvers.pagination import Page, check_page_size, decode_cursor
from server.webhooks import secret_box, target_policy
from services.delivery.webhook.endpoints import WebhookTools
from services.delivery.webhook.targets import system_resolver


def _require_manage(context: RequestContext) -> None:
    if not context.require_viewer().has(Permission.CREDENTIALS_MANAGE):
        raise ForbiddenError("Webhook endpoints need the CREDENTIALS_MANAGE permission.")


def webhook_tools(context: RequestContext) -> WebhookTools:
    settings = context.settings
    return WebhookTools(target_policy(settings), system_resolver, secret_box(settings))


async def resolve_endpoints(info: Info[RequestContext, None]) -> list[WebhookEndpoint]:
    _require_manage(info.context)
    async with info.context.read() as session:
        return list(await session.scalars(select_endpoints()))


async def resolve_webhook_deliveries(
    info: Info[RequestContext, None],
    endpoint_id: int | None,
    status: DeliveryStatus | None,
    first: int,
    after: str | None,
) -> tuple[Page[Delivery], dict[int, list[WebhookAttempt]]]:
    """An endpoint's deliveries, newest first, with their attempts (one more statement)."""
    context = info.context
    _require_manage(context)
    first = check_page_size(first)
    before_id = decode_cursor(after, (int,))[0] if after is not None else None
    async with context.read() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id) if endpoint_id else None
        fetched: list[Delivery] = []
        attempts: dict[int, list[WebhookAttempt]] = defaultdict(list)
        if endpoint is not None:
            fetched = list(
                await session.scalars(
                    select_webhook_deliveries_page(endpoint.id, status, before_id, first + 1)
                )
            )
            for attempt in await session.scalars(select_attempts_of([d.id for d in fetched])):
                attempts[attempt.delivery_id].append(attempt)

    async def count() -> int:
        return len(fetched)  # pages are the measure here; no count over the log

    page = Page.cut(fetched, first, lambda d: (d.id,), has_previous=after is not None, count=count)
    return page, attempts
