"""What every change leaves behind: activity rows, the domain event, and the holder's
notification with its email in the delivery outbox, written in the caller's transaction so
they commit or roll back with the change itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import ActivityAction, CredentialActivity
from models.base import column_values
from models.credential import Credential, CredentialVersion
from models.delivery import insert_deliveries
from models.event import CredentialEvent, CredentialEventKind, insert_events, prepare_event_writes
from models.notification import insert_notifications_returning_ids
from services.delivery.outbox import email_delivery_for, email_delivery_row
from services.notifications.inbox import notification_for

TRACKED_FIELDS = ("issue_date", "expiry_date", "credential_number")


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Journal:
    """Writes the activity and events of one actor's changes at one moment."""

    def __init__(self, session: AsyncSession, actor_id: int | None, now: datetime) -> None:
        self.session = session
        self.actor_id = actor_id
        self.now = now

    def action(
        self,
        credential: Credential,
        action: ActivityAction,
        version: CredentialVersion | None = None,
        *,
        field: str | None = None,
        old: object = None,
        new: object = None,
    ) -> None:
        self.session.add(
            CredentialActivity(
                organization_id=credential.organization_id,
                credential_id=credential.id,
                version_id=version.id if version is not None else None,
                action=action,
                field=field,
                old_value=_text(old),
                new_value=_text(new),
                actor_id=self.actor_id,
                at=self.now,
            )
        )

    def field_changes(
        self, credential: Credential, version: CredentialVersion, before: dict[str, Any]
    ) -> list[str]:
        """One FIELD_CHANGED row per tracked field that differs from `before`; their names."""
        changed = []
        for field in TRACKED_FIELDS:
            old, new = before.get(field), getattr(version, field)
            if old != new:
                changed.append(field)
                self.action(
                    credential, ActivityAction.FIELD_CHANGED, version, field=field, old=old, new=new
                )
        return changed

    def event(
        self,
        credential: Credential,
        kind: CredentialEventKind,
        version: CredentialVersion | None = None,
        **data: Any,
    ) -> None:
        event = CredentialEvent(
            organization_id=credential.organization_id,
            kind=kind,
            credential_id=credential.id,
            version_id=version.id if version is not None else None,
            holder_id=credential.holder_id,
            type_id=credential.type_id,
            actor_id=self.actor_id,
            occurred_at=self.now,
            data=data,
        )
        self.session.add(event)
        notification = notification_for(event)
        if notification is not None:
            self.session.add(notification)
            # Its email, in the same transaction: sent by the delivery worker, never here.
            self.session.add(email_delivery_for(notification, self.now))


async def write_events_in_bulk(
    session: AsyncSession, events: Sequence[CredentialEvent], now: datetime
) -> None:
    """Events of many credentials at once, with the notification and email Journal.event
    adds for each: one INSERT per table rather than a flush of each row, for the expiry
    sweep's batches (a flush of 500 reminders' rows took most of a second)."""
    for organization_id in sorted({event.organization_id for event in events}):
        await session.run_sync(prepare_event_writes, organization_id)
    await session.execute(insert_events(), [column_values(e) for e in events])
    notifications = [n for n in map(notification_for, events) if n is not None]
    if not notifications:
        return
    ids = await session.scalars(
        insert_notifications_returning_ids(), [column_values(n) for n in notifications]
    )
    for notification, notification_id in zip(notifications, ids, strict=True):
        notification.id = notification_id
    await session.execute(insert_deliveries(), [email_delivery_row(n, now) for n in notifications])


def snapshot(version: CredentialVersion) -> dict[str, Any]:
    return {field: getattr(version, field) for field in TRACKED_FIELDS}
