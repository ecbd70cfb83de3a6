"""Which expiry reminder a version is due, judged from state rather than from the calendar:
the most recent stage that has arrived and has not been sent, whenever it arrived.

A sweep that only asked "which stages fall on the day I am sweeping" lost every reminder
that became due after that day's sweep (a late approval, a backdated entry, an import, a
restore, changed settings, a reactivated holder, downtime). Judging from state sends each
of those at the next sweep, and only the latest stage: a credential approved three days
before expiry is reminded once at its 7-day stage, not at 30, 7 and 1 at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from models.reminder import ReminderKind

# EXPIRED is sent within this many days after the expiry date: a record of long-expired
# credentials (an import of history, a restore after years) is not a burst of reminders.
DEFAULT_EXPIRED_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Stage:
    kind: ReminderKind
    # The lead time the reminder stands for (0 for EXPIRED): with the version and kind, the
    # key that makes each reminder unique.
    lead_days: int


def due_stage(
    expiry_date: date,
    today: date,
    lead_days: Collection[int],
    *,
    nearest_sent_lead: int | None,
    expired_sent: bool,
    expired_window_days: int = DEFAULT_EXPIRED_WINDOW_DAYS,
) -> Stage | None:
    """The reminder to send today, if any.

    `nearest_sent_lead` is the smallest lead time an EXPIRING_SOON reminder was already sent
    at: a stage at that lead time or further from expiry is not sent again, nor after one
    nearer to it (a holder who adds a longer lead time late is not told again)."""
    if expired_sent:
        return None
    days_left = (expiry_date - today).days
    if days_left < 0:  # valid through its expiry date, expired from the day after
        if -days_left > expired_window_days:
            return None
        return Stage(ReminderKind.EXPIRED, 0)
    arrived = [lead for lead in lead_days if lead >= days_left]
    if not arrived:
        return None
    stage = min(arrived)
    if nearest_sent_lead is not None and nearest_sent_lead <= stage:
        return None
    return Stage(ReminderKind.EXPIRING_SOON, stage)
