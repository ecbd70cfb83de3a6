"""Writing to the outbox, in the caller's transaction: a delivery commits or rolls back
with its cause. Whether and where it goes is decided by the worker at send time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import (
    Delivery,
    DeliveryChannel,
    DeliveryKind,
    DeliveryStatus,
    insert_delivery,
    notification_dedupe_key,
)
from models.notification import Notification
from models.tenancy import TenantViolation, session_organization_id


def email_delivery_for(notification: Notification, now: datetime) -> Delivery:
    """The email of a notification being added: queued with it, keyed by its id once the
    flush gives it one (models.delivery)."""
    return Delivery(**_email_values(notification, now), notification=notification)


def email_delivery_row(notification: Notification, now: datetime) -> dict[str, Any]:
    """The same for a bulk INSERT, of a notification inserted already (its id known)."""
    return {
        **_email_values(notification, now),
        "notification_id": notification.id,
        "dedupe_key": notification_dedupe_key(notification.id),
    }


def _email_values(notification: Notification, now: datetime) -> dict[str, Any]:
    return {
        "organization_id": notification.organization_id,
        "channel": DeliveryChannel.EMAIL,
        "kind": DeliveryKind(notification.kind.value),
        "recipient_user_id": notification.user_id,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def queue_delivery(
    session: AsyncSession,
    *,
    organization_id: int,
    channel: DeliveryChannel,
    kind: DeliveryKind,
    recipient_user_id: int,
    dedupe_key: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    notification: Notification | None = None,
) -> bool:
    """Queues a delivery, due at `now`, in the session's transaction; idempotent on
    (channel, dedupe_key): True when queued, False when it was queued already (this
    transaction or another, racing ones included). A `payload` is sent as it is (for
    email: {"subject", "text", "html"}); without one the worker renders `notification`."""
    scope = session_organization_id(session.sync_session)
    if scope is not None and scope != organization_id:
        raise TenantViolation(
            f"refusing to queue a delivery of organization {organization_id} in a session "
            f"of organization {scope}"
        )
    if notification is not None and notification.id is None:
        await session.flush([notification])
    dialect = session.get_bind().dialect.name
    result = await session.execute(
        insert_delivery(
            dialect,
            {
                "organization_id": organization_id,
                "channel": channel,
                "kind": kind,
                "recipient_user_id": recipient_user_id,
                "notification_id": notification.id if notification is not None else None,
                "dedupe_key": dedupe_key,
                "payload": payload,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    )
    return bool(getattr(result, "rowcount", 0))
