"""The expiry scheduler's sweep: EXPIRING_SOON at each of a holder's lead times and
EXPIRED the day after the expiry date, exactly once per version, kind and lead time.

Days are swept one at a time, each in a transaction that claims the sweep's state row
(see models.reminder): racing instances never sweep a day twice, and days that passed
while no instance ran are swept late, in order, so no reminder is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from models.event import CredentialEventKind
from models.notification import (
    DEFAULT_LEAD_DAYS,
    NotificationSettings,
    select_custom_lead_days,
    select_notification_settings,
)
from models.reminder import (
    EXPIRY_SWEEP,
    ExpiryReminder,
    ReminderKind,
    claim_state,
    insert_state_row,
    select_reminder_candidates,
    select_sent_reminders,
)
from services.credentials.journal import Journal

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class SweepResult:
    days_swept: int = 0
    reminders_sent: int = 0
    # Another instance held the claim: it is sweeping, nothing was done here.
    busy: bool = False


async def sweep_expiry(transaction: Transaction, now: Callable[[], datetime]) -> SweepResult:
    """Sweeps every day not yet swept, up to today; each day commits on its own."""
    result = SweepResult()
    while True:
        async with transaction() as session:
            day = await _claim_next_day(session, now().date())
            if day is _Claim.SWEPT_THROUGH_TODAY:
                return result
            if day is _Claim.BUSY:
                result.busy = True
                return result
            result.reminders_sent += await _send_reminders_of(session, day, now())
            result.days_swept += 1


class _Claim(Enum):
    SWEPT_THROUGH_TODAY = "swept through today"
    BUSY = "another instance holds the claim"


async def _claim_next_day(session: AsyncSession, today: date) -> date | _Claim:
    """The next day to sweep, its claim held until the transaction ends."""
    dialect = session.get_bind().dialect.name
    await session.execute(insert_state_row(dialect, EXPIRY_SWEEP))
    state = await session.scalar(claim_state(EXPIRY_SWEEP, skip_locked=dialect == "postgresql"))
    if state is None:
        return _Claim.BUSY
    # A new installation starts today rather than replaying the whole past.
    day = state.swept_through + timedelta(days=1) if state.swept_through else today
    if day > today:
        return _Claim.SWEPT_THROUGH_TODAY
    state.swept_through = day
    return day


async def _send_reminders_of(session: AsyncSession, day: date, now: datetime) -> int:
    """Writes the events (and so the notifications) of every reminder due on the day."""
    lead_times = set(DEFAULT_LEAD_DAYS)
    for custom in await session.scalars(select_custom_lead_days()):
        lead_times.update(custom)
    expired_on = day - timedelta(days=1)  # valid through its expiry date, expired the day after
    expiry_dates = {day + timedelta(days=lead) for lead in lead_times} | {expired_on}
    candidates = list(await session.execute(select_reminder_candidates(expiry_dates)))
    if not candidates:
        return 0
    holder_ids = {holder.id for _, _, holder in candidates}
    settings = {
        s.user_id: s for s in await session.scalars(select_notification_settings(holder_ids))
    }
    version_ids = [version.id for version, _, _ in candidates]
    already_sent = {tuple(row) for row in await session.execute(select_sent_reminders(version_ids))}
    journal = Journal(session, None, now)
    sent = 0
    for version, credential, holder in candidates:
        chosen = settings.get(holder.id) or NotificationSettings.defaults(
            holder.organization_id, holder.id
        )
        if not chosen.expiry_reminders or version.expiry_date is None:
            continue
        if version.expiry_date == expired_on:
            kind, lead = ReminderKind.EXPIRED, 0
        else:
            kind, lead = ReminderKind.EXPIRING_SOON, (version.expiry_date - day).days
            if lead not in chosen.lead_days:
                continue
        if (version.id, kind, lead) in already_sent:
            continue
        session.add(
            ExpiryReminder(
                organization_id=credential.organization_id,
                version_id=version.id,
                kind=kind,
                lead_days=lead,
                sent_at=now,
            )
        )
        data: dict[str, object] = {"expiryDate": version.expiry_date.isoformat()}
        if kind is ReminderKind.EXPIRING_SOON:
            data["leadDays"] = lead
        journal.event(credential, CredentialEventKind(kind.value), version, **data)
        sent += 1
    return sent
