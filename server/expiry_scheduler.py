"""Runs the expiry sweep and the managers' digests inside the service, every
EXPIRY_SWEEP_INTERVAL_S.

Every instance may run them: the sweep's claim and each digest's run row let one instance
send each reminder and digest, and the others skip it. Stopping cancels a sweep in
progress, which rolls its batch back and releases the claim at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from models.tenancy import scoped_to, unscoped
from server.background import BackgroundTask
from server.database import Database
from server.metrics import Metrics
from services.delivery.links import credential_link
from services.notifications.digest_schedule import DigestResult, send_due_digests
from services.notifications.expiry_sweep import SweepResult, sweep_expiry
from services.notifications.reminder_stage import DEFAULT_EXPIRED_WINDOW_DAYS

logger = logging.getLogger("credentials.scheduler")


async def run_sweep(
    database: Database,
    clock: Callable[[], datetime],
    metrics: Metrics | None = None,
    *,
    expired_window_days: int = DEFAULT_EXPIRED_WINDOW_DAYS,
    dry_run: bool = False,
) -> SweepResult:
    try:
        result = await sweep_expiry(
            lambda: database.read(unscoped()),
            lambda: database.transaction(unscoped()),
            clock,
            expired_window_days=expired_window_days,
            dry_run=dry_run,
        )
    except Exception:
        if metrics is not None:
            metrics.scheduler_runs.labels("failed").inc()
        raise
    if metrics is not None:
        metrics.scheduler_runs.labels("busy" if result.busy else "swept").inc()
        metrics.reminders_sent.inc(result.reminders_sent)
    if result.reminders_sent:
        logger.info("expiry sweep: %d reminder(s) sent", result.reminders_sent)
    return result


async def run_digests(
    database: Database,
    clock: Callable[[], datetime],
    public_url: str,
    metrics: Metrics | None = None,
    *,
    dry_run: bool = False,
) -> DigestResult:
    result = await send_due_digests(
        lambda: database.read(unscoped()),
        lambda organization_id: database.transaction(scoped_to(organization_id)),
        clock,
        partial(credential_link, public_url),
        dry_run=dry_run,
    )
    if metrics is not None:
        metrics.digests_queued.inc(result.queued)
    if result.queued:
        logger.info("digests: %d queued", result.queued)
    return result


class ExpiryScheduler:
    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        interval_s: float,
        public_url: str,
        metrics: Metrics | None = None,
        expired_window_days: int = DEFAULT_EXPIRED_WINDOW_DAYS,
    ) -> None:
        self._database = database
        self._public_url = public_url
        self._expired_window_days = expired_window_days
        self._clock = clock
        self._interval_s = interval_s
        self._metrics = metrics
        self._task = BackgroundTask("expiry-scheduler", self._run)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            try:
                await run_sweep(
                    self._database,
                    self._clock,
                    self._metrics,
                    expired_window_days=self._expired_window_days,
                )
                await run_digests(self._database, self._clock, self._public_url, self._metrics)
            except Exception:  # the database may be away: the next round tries again
                logger.exception("expiry sweep failed; retrying in %s s", self._interval_s)
            await asyncio.sleep(self._interval_s)  # the sweep period, not a wait for a result
