"""Webhook endpoints over the API (CREDENTIALS_MANAGE): create, change, delete, rotate the
secret, pause and resume, ping, redeliver and replay. Every write runs in the caller's
transaction, scoped to their organization: another organization's endpoint is not
found. A secret is returned once, at creation or rotation, and stored sealed."""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import Delivery, DeliveryChannel, DeliveryKind, DeliveryStatus
from models.event import CredentialEventKind, select_events_after, select_last_event_id
from models.permission import Permission
from models.webhook import (
    WebhookEndpoint,
    WebhookEndpointStatus,
    select_company_ids,
    select_type_ids,
    select_webhook_delivery,
)
from services.delivery.webhook.errors import WebhookErrorCode
from services.delivery.webhook.fanout import FANOUT_BATCH, delivery_rows, queue_rows
from services.delivery.webhook.payload import ping_payload
from services.delivery.webhook.secrets import SecretBox, new_secret
from services.delivery.webhook.targets import (
    Resolver,
    TargetPolicy,
    TargetRefused,
    parse_target,
    resolve_target,
)
from services.errors import DomainError
from services.events import load_snapshots
from services.viewer import Viewer

ROTATION_OVERLAP = timedelta(hours=24)
MAX_DESCRIPTION = 500
MAX_FILTER_IDS = 100
# Events one replay queues at most; it answers where it stopped, to go on from there.
MAX_REPLAY_EVENTS = 10_000


@dataclass(frozen=True)
class WebhookTools:
    """What endpoint writes need besides the session: the target policy, a resolver
    (injected in tests) and the secrets' box."""

    policy: TargetPolicy
    resolver: Resolver
    box: SecretBox


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    description: str | None = None
    event_kinds: Sequence[CredentialEventKind] | None = None
    type_ids: Sequence[int | None] | None = None
    company_ids: Sequence[int | None] | None = None


@dataclass(frozen=True)
class WithSecret:
    endpoint: WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class Replay:
    queued: int
    until_event_id: int  # the last event looked at: replay after it to go on
    complete: bool


def require_manage(viewer: Viewer) -> None:
    if not viewer.has(Permission.CREDENTIALS_MANAGE):
        raise DomainError(
            WebhookErrorCode.PERMISSION_DENIED,
            "Webhook endpoints need the CREDENTIALS_MANAGE permission.",
        )


async def get_endpoint(session: AsyncSession, endpoint_id: int | None) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id) if endpoint_id else None
    if endpoint is None:
        raise DomainError(WebhookErrorCode.NOT_FOUND, "Webhook endpoint doesn't exist.", "id")
    return endpoint


async def _checked_url(url: str, tools: WebhookTools) -> str:
    try:
        target = parse_target(url, tools.policy)
    except TargetRefused as refused:
        raise DomainError(WebhookErrorCode.INVALID_URL, str(refused), "url") from None
    try:
        await resolve_target(target, tools.policy, tools.resolver)
    except TargetRefused as refused:
        raise DomainError(WebhookErrorCode.TARGET_REFUSED, str(refused), "url") from None
    return target.url


async def _checked_ids(
    session: AsyncSession, ids: Sequence[int | None], field: str, what: str
) -> list[int]:
    if len(ids) > MAX_FILTER_IDS:
        raise DomainError(WebhookErrorCode.TOO_LONG, f"At most {MAX_FILTER_IDS} {what}s.", field)
    wanted = {i for i in ids if i is not None}
    statement = select_company_ids(wanted) if field == "companyIds" else select_type_ids(wanted)
    found = set(await session.scalars(statement)) if wanted else set()
    if None in ids or wanted - found:
        raise DomainError(WebhookErrorCode.NOT_FOUND, f"A {what} doesn't exist.", field)
    return sorted(found)


async def _apply(
    session: AsyncSession, endpoint: WebhookEndpoint, changes: EndpointChanges, tools: WebhookTools
) -> None:
    if changes.url is not None:
        endpoint.url = await _checked_url(changes.url, tools)
    if changes.description is not None:
        if len(changes.description) > MAX_DESCRIPTION:
            raise DomainError(
                WebhookErrorCode.TOO_LONG,
                f"A description has at most {MAX_DESCRIPTION} characters.",
                "description",
            )
        endpoint.description = changes.description.strip()
    if changes.event_kinds is not None:
        if not changes.event_kinds:
            raise DomainError(
                WebhookErrorCode.INVALID, "Choose at least one event kind.", "eventKinds"
            )
        endpoint.event_kinds = sorted({k.value for k in changes.event_kinds})
    if changes.type_ids is not None:
        endpoint.type_ids = await _checked_ids(
            session, changes.type_ids, "typeIds", "credential type"
        )
    if changes.company_ids is not None:
        endpoint.company_ids = await _checked_ids(
            session, changes.company_ids, "companyIds", "company"
        )


async def create_endpoint(
    session: AsyncSession,
    viewer: Viewer,
    changes: EndpointChanges,
    tools: WebhookTools,
    now: datetime,
) -> WithSecret:
    """A new endpoint, posted every event from now on; and its secret, shown this once."""
    require_manage(viewer)
    if changes.url is None or changes.event_kinds is None:
        raise DomainError(WebhookErrorCode.INVALID, "A URL and event kinds are required.", "url")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        organization_id=viewer.organization_id,
        description="",
        type_ids=[],
        company_ids=[],
        secret_sealed=tools.box.seal(viewer.organization_id, secret),
        status=WebhookEndpointStatus.ACTIVE,
        cursor=int(await session.scalar(select_last_event_id()) or 0),
        created_by_user_id=viewer.user_id,
        created_at=now,
        updated_at=now,
    )
    await _apply(session, endpoint, changes, tools)
    session.add(endpoint)
    await session.flush()
    return WithSecret(endpoint, secret)


async def update_endpoint(
    session: AsyncSession,
    viewer: Viewer,
    endpoint_id: int | None,
    changes: EndpointChanges,
    tools: WebhookTools,
    now: datetime,
) -> WebhookEndpoint:
    require_manage(viewer)
    endpoint = await get_endpoint(session, endpoint_id)
    await _apply(session, endpoint, changes, tools)
    endpoint.updated_at = now
    return endpoint


async def delete_endpoint(session: AsyncSession, viewer: Viewer, endpoint_id: int | None) -> None:
    """Deletes the endpoint, its deliveries and their attempts (foreign keys cascade)."""
    require_manage(viewer)
    endpoint = await get_endpoint(session, endpoint_id)
    await session.delete(endpoint)


async def rotate_secret(
    session: AsyncSession,
    viewer: Viewer,
    endpoint_id: int | None,
    tools: WebhookTools,
    now: datetime,
) -> WithSecret:
    """A new secret; the one it replaces keeps signing beside it for 24 hours."""
    require_manage(viewer)
    endpoint = await get_endpoint(session, endpoint_id)
    secret = new_secret()
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_until = now + ROTATION_OVERLAP
    endpoint.secret_sealed = tools.box.seal(endpoint.organization_id, secret)
    endpoint.updated_at = now
    return WithSecret(endpoint, secret)


async def set_paused(
    session: AsyncSession, viewer: Viewer, endpoint_id: int | None, paused: bool, now: datetime
) -> WebhookEndpoint:
    """Pausing holds deliveries (events keep queueing once resumed: nothing is lost);
    resuming a disabled endpoint starts its failure clock afresh."""
    require_manage(viewer)
    endpoint = await get_endpoint(session, endpoint_id)
    if paused:
        endpoint.status = WebhookEndpointStatus.PAUSED
    else:
        endpoint.status = WebhookEndpointStatus.ACTIVE
        endpoint.failing_since = None
        endpoint.disabled_reason = None
    endpoint.updated_at = now
    return endpoint


async def ping(
    session: AsyncSession, viewer: Viewer, endpoint_id: int | None, now: datetime
) -> Delivery:
    """Queues a test ping (`webhook.ping`), whatever kinds the endpoint chose."""
    require_manage(viewer)
    endpoint = await get_endpoint(session, endpoint_id)
    delivery = _delivery(
        endpoint,
        DeliveryKind.WEBHOOK_PING,
        f"webhook-ping:{endpoint.id}:{random_tokens.token_hex(8)}",
        ping_payload(endpoint.id, now),
        now,
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def redeliver(
    session: AsyncSession, viewer: Viewer, delivery_id: int | None, now: datetime
) -> Delivery:
    """Sends a delivery again, as a new delivery with the same webhook-id and body."""
    require_manage(viewer)
    found = await session.scalar(select_webhook_delivery(delivery_id)) if delivery_id else None
    if found is None or found.webhook_endpoint_id is None:
        raise DomainError(WebhookErrorCode.NOT_FOUND, "Webhook delivery doesn't exist.", "id")
    endpoint = await get_endpoint(session, found.webhook_endpoint_id)
    delivery = _delivery(
        endpoint,
        found.kind,
        f"{found.dedupe_key.split(':again:')[0]}:again:{random_tokens.token_hex(8)}",
        found.payload,
        now,
        event_id=found.event_id,
        credential_id=found.credential_id,
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def replay(
    session: AsyncSession,
    viewer: Viewer,
    endpoint_id: int | None,
    after_event_id: int,
    now: datetime,
) -> Replay:
    """Queues again, from the log, the events after a cursor that the endpoint has had
    queued (later ones come by the fan-out anyway), as the endpoint's filters choose
    them now, in event order; at most MAX_REPLAY_EVENTS at once."""
    require_manage(viewer)
    endpoint = await get_endpoint(session, endpoint_id)
    suffix = f":replay:{random_tokens.token_hex(8)}"
    queued, last, looked_at = 0, after_event_id, 0
    while last < endpoint.cursor and looked_at < MAX_REPLAY_EVENTS:
        events = [
            e
            for e in await session.scalars(select_events_after(last, FANOUT_BATCH))
            if e.id <= endpoint.cursor
        ]
        if not events:
            break
        snapshots = await load_snapshots(session, events)
        rows = delivery_rows(
            [endpoint], snapshots, now, after={endpoint.id: last}, key_suffix=suffix
        )
        await queue_rows(session, rows)
        queued += len(rows)
        looked_at += len(events)
        last = events[-1].id
    return Replay(queued, last, last >= endpoint.cursor)


def _delivery(
    endpoint: WebhookEndpoint,
    kind: DeliveryKind,
    key: str,
    payload: dict[str, Any] | None,
    now: datetime,
    *,
    event_id: int | None = None,
    credential_id: int | None = None,
) -> Delivery:
    return Delivery(
        organization_id=endpoint.organization_id,
        channel=DeliveryChannel.WEBHOOK,
        kind=kind,
        webhook_endpoint_id=endpoint.id,
        event_id=event_id,
        credential_id=credential_id,
        dedupe_key=key,
        payload=payload,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
