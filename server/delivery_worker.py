"""Runs the delivery worker inside the service, every DELIVERY_INTERVAL_S and soon after a
commit that wrote events (which is when notifications, and so emails, are queued).

Every instance may run it, and so may `python -m server deliver-notifications` beside
them: claims are disjoint (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serializes
writers). Stopping cancels a pass in progress: its claimed rows come back when their
lease passes, so nothing is lost (at most the message being sent is sent again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from models.delivery import DeliveryChannel, select_queue_depth
from models.tenancy import scoped_to, unscoped
from server.background import BackgroundTask
from server.database import Database
from server.metrics import Metrics
from server.settings import Settings
from server.webhooks import retry_schedule, secret_box, webhook_settings
from services.delivery import DeliveryOptions, PassResult, deliver_due
from services.delivery.channel import Channel
from services.delivery.email.channel import EmailChannel, EmailConfig
from services.delivery.webhook.channel import WebhookChannel
from services.delivery.webhook.health import EndpointHealth
from services.delivery.webhook.lanes import LaneHandles, WebhookLanes
from services.delivery.webhook.targets import Resolver

logger = logging.getLogger("credentials.delivery")

# SMTP_TIMEOUT_S bounds each step of a send (connect, MAIL, RCPT, DATA, the message).
_STEPS_OF_A_SEND = 5
_MIN_LEASE = timedelta(minutes=5)


def email_config(settings: Settings) -> EmailConfig:
    """The email channel's configuration; SettingsError for an SMTP_URL or
    SMTP_CA_FILE that cannot work."""
    config = EmailConfig(
        target=settings.smtp_target(),
        sender=settings.smtp_from or "",
        public_url=settings.email_public_url(),
        timeout_s=float(settings.smtp_timeout_s),
        tls_context=settings.smtp_tls_context(),
    )
    return config if config.sender else replace(config, sender=f"no-reply@{config.domain}")


def delivery_options(settings: Settings) -> DeliveryOptions:
    send_timeout = timedelta(seconds=settings.smtp_timeout_s * _STEPS_OF_A_SEND)
    return DeliveryOptions(
        lease=max(_MIN_LEASE, 4 * send_timeout),
        send_timeout=send_timeout,
        max_attempts=settings.delivery_max_attempts,
        retry_base=timedelta(seconds=settings.delivery_retry_base_s),
    )


def webhook_options(settings: Settings) -> DeliveryOptions:
    send_timeout = timedelta(seconds=settings.webhook_timeout_s + 5)
    return DeliveryOptions(
        lease=max(_MIN_LEASE, 4 * send_timeout),
        send_timeout=send_timeout,
        retry_schedule=retry_schedule(settings),
    )


class DeliveryWorker:
    """The worker of one process. `run_pass()` is one pass (tests drive it directly);
    `start()` runs passes in the background until `stop()`."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Callable[[], datetime],
        metrics: Metrics | None = None,
        *,
        options: DeliveryOptions | None = None,
        channels: list[Channel] | None = None,
        rng: random.Random | None = None,
        webhook: DeliveryOptions | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.metrics = metrics
        self.options = options or delivery_options(settings)
        self.channels: list[Channel] = channels or [EmailChannel(email_config(settings), clock)]
        self._rng = rng or random.Random()
        self._interval_s = settings.delivery_interval_s
        self.webhooks = WebhookLanes(
            LaneHandles(
                transaction=lambda: database.transaction(unscoped()),
                read=lambda: database.read(unscoped()),
                scoped_transaction=lambda org: database.transaction(scoped_to(org)),
                write_one=database.write_one,
            ),
            WebhookChannel(
                webhook_settings(settings, resolver),
                secret_box(settings),
                clock,
                EndpointHealth(
                    database.write_one,
                    lambda org: database.transaction(scoped_to(org)),
                    clock,
                    timedelta(days=settings.webhook_disable_after_days),
                    self._observe_attempt,
                ),
            ),
            clock,
            webhook or webhook_options(settings),
            self._rng,
            on_lane_done=self._count,
        )
        self._wake = asyncio.Event()
        self._task = BackgroundTask("delivery-worker", self._run)
        database.on_events_committed(lambda _: self._wake.set())

    async def run_pass(self, wait_for_lanes: bool = True) -> PassResult:
        """Email beside webhooks. Webhook lanes run on their own; with `wait_for_lanes`
        (tests, the CLI) the pass returns once they are done, with what they did."""
        result, webhooks = await asyncio.gather(
            deliver_due(
                lambda: self.database.transaction(unscoped()),
                lambda: self.database.read(unscoped()),
                self.database.write_one,
                self.channels,
                self.clock,
                self.options,
                self._rng,
            ),
            self.webhooks.run_pass(wait_for_lanes),
        )
        self._count(result)  # lanes count themselves as they end
        result.counts.update(webhooks.counts)
        if self.metrics is not None:
            await self._measure_queue()
        return result

    def _observe_attempt(self, seconds: float, accepted: bool) -> None:
        if self.metrics is not None:
            self.metrics.webhook_attempts.labels(str(accepted).lower()).observe(seconds)

    def _count(self, result: PassResult) -> None:
        if self.metrics is not None:
            for (channel, outcome), count in result.counts.items():
                self.metrics.deliveries.labels(channel.value, outcome.value).inc(count)

    async def _measure_queue(self) -> None:
        rows = await self.database.read_rows(unscoped(), select_queue_depth())
        assert self.metrics is not None
        now = self.clock()
        depth = {channel: (count, oldest) for channel, count, oldest in rows}
        for channel in DeliveryChannel:
            count, oldest = depth.get(channel, (0, None))
            self.metrics.delivery_queue.labels(channel.value).set(count)
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            self.metrics.delivery_oldest_pending.labels(channel.value).set(max(age, 0.0))

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        await self.webhooks.stop()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_pass(wait_for_lanes=False)
            except Exception:  # the database may be away: the next round tries again
                logger.exception("delivery pass failed; retrying in %s s", self._interval_s)
            # The worker's period (or an early wake-up by a commit), not a wait for a result.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval_s)
