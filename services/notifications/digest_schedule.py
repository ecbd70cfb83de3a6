"""Sends the digests that are due: each recipient's daily digest on the first sweep of the
day, the weekly one on the first sweep of the week (Monday on), exactly once a period.

A period whose sweeps all missed it (downtime) is not sent late: the next period's digest
says what is true then. Each digest is claimed (models.digest), built with the recipient's
own visibility and queued for email in one transaction of the recipient's organization,
so racing instances build and send it once, and it commits or rolls back whole.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import DeliveryChannel, DeliveryKind
from models.digest import DigestRun, claim_digest_run, select_due_digest_recipients
from models.notification import DigestFrequency
from services.delivery.outbox import queue_delivery
from services.errors import DomainError
from services.identity import viewer_of_user
from services.notifications.digest import build_digest
from services.notifications.digest_email import render_digest
from services.notifications.settings import looks_after_others

Session = Callable[[], AbstractAsyncContextManager[AsyncSession]]
SessionOf = Callable[[int], AbstractAsyncContextManager[AsyncSession]]


def period_start(frequency: DigestFrequency, day: date) -> date:
    """The first day of the period the day falls in (weeks start on Monday): with the
    recipient, the key that makes each digest unique."""
    if frequency is DigestFrequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day


@dataclass(frozen=True)
class DueDigest:
    user_id: int
    organization_id: int
    frequency: DigestFrequency

    def as_dict(self, today: date) -> dict[str, object]:
        return {
            "userId": self.user_id,
            "frequency": self.frequency.value,
            "periodStart": period_start(self.frequency, today).isoformat(),
        }


async def find_due_digests(session: AsyncSession, today: date) -> list[DueDigest]:
    """Everyone whose chosen digest has not been built for the current period."""
    due: list[DueDigest] = []
    for frequency in (DigestFrequency.DAILY, DigestFrequency.WEEKLY):
        rows = await session.execute(
            select_due_digest_recipients(frequency, period_start(frequency, today))
        )
        due += [DueDigest(user_id, org_id, frequency) for user_id, org_id in rows]
    return due


@dataclass
class DigestResult:
    due: list[DueDigest] = field(default_factory=list)
    # Queued for email; empty digests are recorded, not sent.
    queued: int = 0


async def send_due_digests(
    read: Session,
    transaction_of: SessionOf,
    now: Callable[[], datetime],
    link_of: Callable[[int], str],
    *,
    dry_run: bool = False,
) -> DigestResult:
    """Queues every digest due today (with dry_run, only says whose).
    `transaction_of(organization_id)` opens a write transaction scoped to it."""
    today = now().date()
    async with read() as session:
        result = DigestResult(due=await find_due_digests(session, today))
    if dry_run:
        return result
    for digest in result.due:
        async with transaction_of(digest.organization_id) as session:
            result.queued += await _send_one(session, digest, today, now(), link_of)
    return result


async def _send_one(
    session: AsyncSession,
    due: DueDigest,
    today: date,
    now: datetime,
    link_of: Callable[[int], str],
) -> int:
    start = period_start(due.frequency, today)
    dialect = session.get_bind().dialect.name
    claimed = await session.scalar(
        claim_digest_run(dialect, due.organization_id, due.user_id, due.frequency.value, start)
    )
    if claimed is None:  # another instance has it
        return 0
    run = await session.get_one(DigestRun, claimed)
    try:
        viewer = await viewer_of_user(session, due.user_id)
    except DomainError:  # deactivated since: recorded, nothing sent
        return 0
    if not looks_after_others(viewer):
        run.counts = {"skipped": "no longer looks after anyone"}
        return 0
    digest = await build_digest(session, viewer, today, due.frequency)
    run.counts = digest.counts()
    if digest.is_empty:
        return 0
    run.sent = await queue_delivery(
        session,
        organization_id=due.organization_id,
        channel=DeliveryChannel.EMAIL,
        kind=DeliveryKind.DIGEST,
        recipient_user_id=due.user_id,
        dedupe_key=f"digest:{due.user_id}:{due.frequency.value}:{start.isoformat()}",
        now=now,
        payload=render_digest(digest, link_of).as_payload(),
    )
    return int(run.sent)
