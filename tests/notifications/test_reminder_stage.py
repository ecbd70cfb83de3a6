"""The rule that picks a version's due reminder, over any lead times and any days the
sweep happens to run on."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.reminder import ReminderKind
from services.notifications.reminder_stage import Stage, due_stage

EXPIRY = date(2027, 6, 30)
WINDOW = 30


def _sweep(lead_days: set[int], sweep_days: list[int]) -> list[tuple[int, Stage]]:
    """(days before expiry, stage) of each reminder sent by sweeps on the given days."""
    sent: list[tuple[int, Stage]] = []
    for days_before in sorted(set(sweep_days), reverse=True):
        soon = [s.lead_days for _, s in sent if s.kind is ReminderKind.EXPIRING_SOON]
        stage = due_stage(
            EXPIRY,
            EXPIRY - timedelta(days=days_before),
            lead_days,
            nearest_sent_lead=min(soon, default=None),
            expired_sent=any(s.kind is ReminderKind.EXPIRED for _, s in sent),
            expired_window_days=WINDOW,
        )
        if stage is not None:
            sent.append((days_before, stage))
    return sent


@given(
    lead_days=st.sets(st.integers(0, 120), max_size=10),
    sweep_days=st.lists(st.integers(-60, 150), max_size=40),
)
def test_each_reminder_once_nearer_each_time_and_only_stages_that_arrived(
    lead_days: set[int], sweep_days: list[int]
) -> None:
    sent = _sweep(lead_days, sweep_days)

    stages = [stage for _, stage in sent]
    assert len(stages) == len(set(stages))
    soon = [s.lead_days for s in stages if s.kind is ReminderKind.EXPIRING_SOON]
    assert soon == sorted(soon, reverse=True)  # each nearer to expiry than the last
    for days_before, stage in sent:
        if stage.kind is ReminderKind.EXPIRED:
            assert -WINDOW <= days_before < 0
        else:
            # the stage has arrived, and it is the most recent one that has
            assert stage.lead_days in lead_days
            assert stage.lead_days >= days_before >= 0
            assert not [lead for lead in lead_days if days_before <= lead < stage.lead_days]


@given(lead_days=st.sets(st.integers(0, 120), min_size=1, max_size=10))
def test_daily_sweeps_send_every_lead_time_then_expired(lead_days: set[int]) -> None:
    sent = _sweep(lead_days, list(range(-WINDOW, 150)))

    assert [s for _, s in sent] == [
        *(Stage(ReminderKind.EXPIRING_SOON, lead) for lead in sorted(lead_days, reverse=True)),
        Stage(ReminderKind.EXPIRED, 0),
    ]
    assert [days for days, _ in sent] == [*sorted(lead_days, reverse=True), -1]


@given(sweep_day=st.integers(-WINDOW, -1))
def test_a_sweep_any_day_within_the_window_after_expiry_sends_expired(sweep_day: int) -> None:
    assert _sweep({30, 7}, [sweep_day]) == [(sweep_day, Stage(ReminderKind.EXPIRED, 0))]
