"""Each user's expiry reminder settings: on or off, and how long before expiry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.notification import NotificationSettings, select_notification_settings
from models.permission import Permission
from models.user import User, select_users_by_id
from services.errors import DomainError
from services.notifications.errors import NotificationErrorCode
from services.viewer import Viewer
from services.visibility import users_visible_to

MAX_LEAD_DAYS = 365
MAX_LEAD_TIMES = 10


def can_manage_notifications(viewer: Viewer, user_id: int) -> bool:
    """Users choose their own reminders; "Platform management: Users" anyone's."""
    return viewer.user_id == user_id or viewer.has(Permission.USERS_MANAGE)


async def _user_for(session: AsyncSession, viewer: Viewer, user_id: int) -> User:
    visible = users_visible_to(viewer)
    user = await session.scalar(select_users_by_id(visible, [user_id]))
    if user is None:
        raise DomainError(NotificationErrorCode.NOT_FOUND, "User doesn't exist.", "userId")
    if not can_manage_notifications(viewer, user_id):
        raise DomainError(
            NotificationErrorCode.PERMISSION_DENIED,
            "Only the user, or someone with the USERS_MANAGE permission, may see or change "
            "a user's notification settings.",
            "userId",
        )
    return user


async def load_notification_settings(
    session: AsyncSession, viewer: Viewer, user_id: int
) -> NotificationSettings:
    """The saved settings, or the defaults (not added to the session)."""
    user = await _user_for(session, viewer, user_id)
    saved = await session.scalar(select_notification_settings([user.id]))
    return saved or NotificationSettings.defaults(user.organization_id, user.id)


def normalized_lead_days(lead_days: Sequence[int]) -> list[int]:
    """Distinct lead times, longest first; a clear error for any that makes no sense."""
    if len(set(lead_days)) > MAX_LEAD_TIMES:
        raise DomainError(
            NotificationErrorCode.INVALID,
            f"At most {MAX_LEAD_TIMES} reminder lead times may be chosen.",
            "leadTimesDays",
        )
    wrong = [days for days in lead_days if not 0 <= days <= MAX_LEAD_DAYS]
    if wrong:
        raise DomainError(
            NotificationErrorCode.INVALID,
            f"Lead times are days before expiry, 0 (the expiry day) to {MAX_LEAD_DAYS}; "
            f"{wrong[0]} is not.",
            "leadTimesDays",
        )
    return sorted(set(lead_days), reverse=True)


async def update_notification_settings(
    session: AsyncSession,
    viewer: Viewer,
    now: datetime,
    *,
    user_id: int,
    expiry_reminders: bool | None = None,
    lead_days: Sequence[int] | None = None,
) -> NotificationSettings:
    user = await _user_for(session, viewer, user_id)
    lead = normalized_lead_days(lead_days) if lead_days is not None else None
    settings = await _saved_settings(session, user)
    if expiry_reminders is not None:
        settings.expiry_reminders = expiry_reminders
    if lead is not None:
        settings.lead_days = lead
    settings.updated_at = now
    return settings


async def _saved_settings(session: AsyncSession, user: User) -> NotificationSettings:
    """The user's row, created with the defaults on first save (or the row of a
    concurrent first save that won the race)."""
    saved = await session.scalar(select_notification_settings([user.id]))
    if saved is not None:
        return saved
    try:
        async with session.begin_nested():
            settings = NotificationSettings.defaults(user.organization_id, user.id)
            session.add(settings)
        return settings
    except IntegrityError:
        saved = await session.scalar(select_notification_settings([user.id]))
        assert saved is not None, "the row that won the race is visible after it committed"
        return saved
