"""Each user's notification settings: expiry reminders on or off and how long before
expiry, which kinds also come by email (in-app always), and a digest for those who look
after others."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.notification import (
    DigestFrequency,
    NotificationKind,
    NotificationSettings,
    select_notification_settings,
)
from models.permission import Permission
from models.user import User, select_users_by_id
from services.errors import DomainError
from services.identity import viewer_of_user
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


def looks_after_others(person: Viewer) -> bool:
    """Who may have a digest: those who see others' credentials (user or credential
    managers, company managers, key contacts)."""
    return person.sees_all_users or bool(person.overseen_company_ids)


def email_off_after(
    current: Sequence[str], channels: Sequence[tuple[NotificationKind, bool]]
) -> list[str]:
    """The kinds that do not come by email once `channels` ((kind, email) pairs) apply;
    each kind at most once."""
    kinds = [kind for kind, _ in channels]
    if len(set(kinds)) != len(kinds):
        raise DomainError(NotificationErrorCode.INVALID, "Each kind may be given once.", "channels")
    off = set(current)
    for kind, email in channels:
        if email:
            off.discard(kind.value)
        else:
            off.add(kind.value)
    return [kind.value for kind in NotificationKind if kind.value in off]


async def _check_digest(
    session: AsyncSession, viewer: Viewer, user: User, digest: DigestFrequency
) -> None:
    if digest is DigestFrequency.NONE:
        return
    person = viewer if viewer.user_id == user.id else await _viewer_of(session, user)
    if person is None or not looks_after_others(person):
        raise DomainError(
            NotificationErrorCode.DIGEST_NOT_AVAILABLE,
            "Digests are for people who look after others' credentials (user or credential "
            "managers, company managers and key contacts); this user looks after nobody else.",
            "digest",
        )


async def _viewer_of(session: AsyncSession, user: User) -> Viewer | None:
    try:
        return await viewer_of_user(session, user.id)
    except DomainError:  # deactivated: looks after nobody
        return None


async def update_notification_settings(
    session: AsyncSession,
    viewer: Viewer,
    now: datetime,
    *,
    user_id: int,
    expiry_reminders: bool | None = None,
    lead_days: Sequence[int] | None = None,
    channels: Sequence[tuple[NotificationKind, bool]] | None = None,
    digest: DigestFrequency | None = None,
) -> NotificationSettings:
    """Changes what is given and leaves the rest; refuses the whole change on any error."""
    user = await _user_for(session, viewer, user_id)
    lead = normalized_lead_days(lead_days) if lead_days is not None else None
    if digest is not None:
        await _check_digest(session, viewer, user, digest)
    settings = await _saved_settings(session, user)
    if expiry_reminders is not None:
        settings.expiry_reminders = expiry_reminders
    if lead is not None:
        settings.lead_days = lead
    if channels is not None:
        settings.email_off = email_off_after(settings.email_off, channels)
    if digest is not None:
        settings.digest = digest
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
