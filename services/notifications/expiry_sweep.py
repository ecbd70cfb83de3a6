"""The expiry scheduler's sweep: EXPIRING_SOON at the most recent of a holder's lead times
that has arrived, and EXPIRED after the expiry date, exactly once per version, kind and
lead time (see reminder_stage for why the sweep judges from state, not from the day).

A sweep reads what is due without any lock, then writes it in batches, each in a
transaction that claims the sweep's state row and judges its versions again: racing
instances never send a reminder twice (the unique key on what was sent is the second
guard), and a batch stopped half-way leaves its reminders for the next sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.event import CredentialEvent, CredentialEventKind
from models.notification import DEFAULT_LEAD_DAYS, select_custom_lead_days
from models.reminder import (
    EXPIRY_SWEEP,
    ReminderCandidate,
    ReminderKind,
    claim_state,
    insert_reminders,
    insert_state_row,
    select_reminder_candidates,
    select_reminder_targets,
)
from services.credentials.journal import write_events_in_bulk
from services.notifications.reminder_stage import (
    DEFAULT_EXPIRED_WINDOW_DAYS,
    Stage,
    due_stage,
)
from services.notifications.settings import MAX_LEAD_DAYS

Session = Callable[[], AbstractAsyncContextManager[AsyncSession]]

# Versions judged and written per transaction: a short hold of SQLite's write lock and of
# PostgreSQL's per-organization event-ordering lock, whatever the number due.
BATCH_SIZE = 500
# Bound parameters per IN list, well inside SQLite's limit of 32,766.
_CHUNK = 5_000
_LONGEST_DEFAULT = max(DEFAULT_LEAD_DAYS)


@dataclass(frozen=True)
class DueReminder:
    version_id: int
    holder_id: int
    expiry_date: date
    stage: Stage

    def as_dict(self, today: date) -> dict[str, object]:
        return {
            "versionId": self.version_id,
            "holderId": self.holder_id,
            "expiryDate": self.expiry_date.isoformat(),
            "kind": self.stage.kind.value,
            "leadDays": self.stage.lead_days,
            "daysLeft": (self.expiry_date - today).days,
        }


@dataclass
class SweepResult:
    reminders_sent: int = 0
    # Another instance held the claim: it is sending, the rest was left to it.
    busy: bool = False
    # What was found due (all of it on a dry run, which sends nothing).
    due: list[DueReminder] = field(default_factory=list)


async def sweep_expiry(
    read: Session,
    transaction: Session,
    now: Callable[[], datetime],
    *,
    expired_window_days: int = DEFAULT_EXPIRED_WINDOW_DAYS,
    dry_run: bool = False,
) -> SweepResult:
    """Sends every reminder due today; with dry_run, only says which."""
    today = now().date()
    async with read() as session:
        due = await find_due_reminders(session, today, expired_window_days)
    result = SweepResult(due=due)
    if dry_run:
        return result
    for batch in _chunks([d.version_id for d in due], BATCH_SIZE):
        async with transaction() as session:
            if not await _claim(session, today):
                result.busy = True
                return result
            result.reminders_sent += await _send(session, batch, now(), expired_window_days)
    return result


async def find_due_reminders(
    session: AsyncSession, today: date, expired_window_days: int
) -> list[DueReminder]:
    """Every reminder due today: the versions expiring within the defaults' horizon, and
    further ahead for the holders who chose a longer lead time."""
    rows = list(
        await session.execute(
            select_reminder_candidates(
                today - timedelta(days=expired_window_days),
                today + timedelta(days=_LONGEST_DEFAULT),
            )
        )
    )
    further = {
        holder_id: max(lead_days)
        for holder_id, lead_days in await session.execute(select_custom_lead_days())
        if lead_days and max(lead_days) > _LONGEST_DEFAULT
    }
    for holders in _chunks(sorted(further), _CHUNK):
        rows += await session.execute(
            select_reminder_candidates(
                today + timedelta(days=_LONGEST_DEFAULT + 1),
                today + timedelta(days=max(further[h] for h in holders)),
                holder_ids=holders,
            )
        )
    return [
        DueReminder(version_id, holder_id, expiry_date, stage)
        for version_id, expiry_date, holder_id, stage in _judged(rows, today, expired_window_days)
    ]


def _judged(
    rows: Iterable[ReminderCandidate], today: date, expired_window_days: int
) -> Iterator[tuple[int, date, int, Stage]]:
    for version_id, expiry_date, holder_id, on, lead_days, nearest, expired in rows:
        if on is False:
            continue
        stage = due_stage(
            expiry_date,
            today,
            DEFAULT_LEAD_DAYS if lead_days is None else lead_days,
            nearest_sent_lead=nearest,
            expired_sent=expired,
            expired_window_days=expired_window_days,
        )
        if stage is not None:
            yield version_id, expiry_date, holder_id, stage


async def _claim(session: AsyncSession, today: date) -> bool:
    """Holds the sweep's claim until the transaction ends; False when another instance
    holds it (PostgreSQL; SQLite's writers are serialized anyway)."""
    dialect = session.get_bind().dialect.name
    await session.execute(insert_state_row(dialect, EXPIRY_SWEEP))
    state = await session.scalar(claim_state(EXPIRY_SWEEP, skip_locked=dialect == "postgresql"))
    if state is None:
        return False
    state.swept_through = today
    return True


async def _send(
    session: AsyncSession, version_ids: list[int], now: datetime, expired_window_days: int
) -> int:
    """Judges the batch again under the claim, and writes the reminders still due with
    their events (and so their notifications)."""
    today = now.date()
    rows = list(
        await session.execute(
            select_reminder_candidates(
                today - timedelta(days=expired_window_days),
                today + timedelta(days=MAX_LEAD_DAYS),
                version_ids=version_ids,
            )
        )
    )
    stages = {v: stage for v, _, _, stage in _judged(rows, today, expired_window_days)}
    if not stages:
        return 0
    expiry_dates = {version_id: expiry_date for version_id, expiry_date, *_ in rows}
    reminders, events = [], []
    for version_id, credential_id, organization_id, holder_id, type_id in await session.execute(
        select_reminder_targets(list(stages))
    ):
        stage, expiry_date = stages[version_id], expiry_dates[version_id]
        reminders.append(
            {
                "organization_id": organization_id,
                "version_id": version_id,
                "kind": stage.kind,
                "lead_days": stage.lead_days,
                "sent_at": now,
            }
        )
        data: dict[str, object] = {"expiryDate": expiry_date.isoformat()}
        if stage.kind is ReminderKind.EXPIRING_SOON:
            data["leadDays"] = stage.lead_days
            data["daysLeft"] = (expiry_date - today).days
        events.append(
            CredentialEvent(
                organization_id=organization_id,
                kind=CredentialEventKind(stage.kind.value),
                credential_id=credential_id,
                version_id=version_id,
                holder_id=holder_id,
                type_id=type_id,
                actor_id=None,
                occurred_at=now,
                data=data,
            )
        )
    await session.execute(insert_reminders(), reminders)
    await write_events_in_bulk(session, events, now)
    return len(events)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
