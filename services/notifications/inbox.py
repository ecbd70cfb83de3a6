"""In-app notifications: written from credential events, in the same transaction, for the
holder the event concerns; read and marked read by that user only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.event import CredentialEvent, CredentialEventKind
from models.notification import Notification, NotificationKind, mark_read, select_notifications_of
from services.errors import DomainError
from services.notifications.errors import NotificationErrorCode
from services.viewer import Viewer

_KIND_OF_EVENT = {
    CredentialEventKind.APPROVED: NotificationKind.APPROVED,
    CredentialEventKind.REJECTED: NotificationKind.RESUBMISSION_REQUESTED,
    CredentialEventKind.EXPIRING_SOON: NotificationKind.EXPIRING_SOON,
    CredentialEventKind.EXPIRED: NotificationKind.EXPIRED,
}

MAX_MARKED_AT_ONCE = 100


def notification_for(event: CredentialEvent) -> Notification | None:
    """What the holder is told of an event, if anything."""
    kind = _KIND_OF_EVENT.get(event.kind)
    if kind is None:
        return None
    return Notification(
        organization_id=event.organization_id,
        user_id=event.holder_id,
        kind=kind,
        credential_id=event.credential_id,
        type_id=event.type_id,
        data=dict(event.data),
        created_at=event.occurred_at,
    )


async def mark_notifications_read(
    session: AsyncSession, viewer: Viewer, now: datetime, ids: Sequence[int | None]
) -> list[Notification]:
    """Marks the viewer's own notifications read; already read ones keep their time.
    Any id that is not one of the viewer's notifications refuses the whole request."""
    if len(ids) > MAX_MARKED_AT_ONCE:
        raise DomainError(
            NotificationErrorCode.INVALID,
            f"At most {MAX_MARKED_AT_ONCE} notifications can be marked at once.",
            "ids",
        )
    wanted = [i for i in ids if i is not None]
    found = {
        n.id: n for n in await session.scalars(select_notifications_of(viewer.user_id, wanted))
    }
    if None in ids or len(found) != len(set(wanted)):
        raise DomainError(NotificationErrorCode.NOT_FOUND, "Notification doesn't exist.", "ids")
    await session.execute(mark_read(viewer.user_id, wanted, now))
    for notification in found.values():
        if notification.read_at is None:
            notification.read_at = now
    return [found[i] for i in dict.fromkeys(wanted)]
