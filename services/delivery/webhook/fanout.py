"""From the event log to each endpoint's deliveries, after commit.

Per organization with active endpoints behind the log's head: one transaction per batch
of events locks those endpoints (PostgreSQL: FOR UPDATE SKIP LOCKED, so instances racing
take different organizations, never the same events twice), reads the events after the
lowest cursor, renders each once, queues a delivery per endpoint that wants it and moves
the cursors on. A delivery's key is (endpoint, event): a second fan-out of the same
events queues nothing. Writers of events pay nothing for webhooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import (
    DeliveryChannel,
    DeliveryKind,
    DeliveryStatus,
    insert_deliveries_once,
)
from models.event import select_events_after
from models.webhook import WebhookEndpoint, select_active_endpoints, select_fanout_behind
from services.delivery.webhook.payload import event_payload
from services.delivery.worker import Clock, SessionFactory
from services.events import EventSnapshot, load_snapshots

FANOUT_BATCH = 500


def event_dedupe_key(endpoint_id: int, event_id: int, suffix: str = "") -> str:
    return f"webhook:{endpoint_id}:{event_id}{suffix}"


async def organizations_behind(read: SessionFactory) -> list[int]:
    """Organizations whose log has events some active endpoint has not had queued."""
    async with read() as session:
        rows = (await session.execute(select_fanout_behind())).all()
    return [org for org, lowest, head in rows if head is not None and head > lowest]


def delivery_rows(
    endpoints: Sequence[WebhookEndpoint],
    snapshots: Sequence[EventSnapshot],
    now: datetime,
    *,
    after: dict[int, int] | None = None,
    key_suffix: str = "",
) -> list[dict[str, Any]]:
    """A delivery per endpoint and event it wants (events after the endpoint's cursor,
    or after `after[endpoint]`), each event rendered once."""
    rows: list[dict[str, Any]] = []
    for snapshot in snapshots:
        event = snapshot.event
        company_id = snapshot.holder.company_id if snapshot.holder is not None else None
        payload: dict[str, Any] | None = None
        for endpoint in endpoints:
            start = (after or {}).get(endpoint.id, endpoint.cursor)
            if event.id <= start or not endpoint.wants(event, company_id):
                continue
            payload = payload or event_payload(snapshot)
            rows.append(
                {
                    "organization_id": endpoint.organization_id,
                    "channel": DeliveryChannel.WEBHOOK,
                    "kind": DeliveryKind.WEBHOOK_EVENT,
                    "recipient_user_id": None,
                    "webhook_endpoint_id": endpoint.id,
                    "event_id": event.id,
                    "credential_id": event.credential_id,
                    "dedupe_key": event_dedupe_key(endpoint.id, event.id, key_suffix),
                    "payload": payload,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    return rows


async def queue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        dialect = session.get_bind().dialect.name
        await session.execute(insert_deliveries_once(dialect), rows)


async def fan_out(transaction: SessionFactory, organization_id: int, clock: Clock) -> int:
    """Queues the organization's new events for its active endpoints, batch after batch;
    the deliveries queued. `transaction` opens a transaction scoped to the organization."""
    queued = 0
    while True:
        async with transaction() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            endpoints = list(await session.scalars(select_active_endpoints(True, postgres)))
            if not endpoints:
                return queued
            lowest = min(e.cursor for e in endpoints)
            events = list(await session.scalars(select_events_after(lowest, FANOUT_BATCH)))
            if not events:
                return queued
            snapshots = await load_snapshots(session, events)
            rows = delivery_rows(endpoints, snapshots, clock())
            await queue_rows(session, rows)
            queued += len(rows)
            last = events[-1].id
            for endpoint in endpoints:
                endpoint.cursor = max(endpoint.cursor, last)
        if len(events) < FANOUT_BATCH:
            return queued
