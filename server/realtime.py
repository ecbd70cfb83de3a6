"""The long-lived parts of real-time delivery, wired together: the event hub, the event
bus that signals it from other instances, and the expiry scheduler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from server.broker import EventBus
from server.database import Database
from server.event_hub import EventHub
from server.expiry_scheduler import ExpiryScheduler
from server.metrics import Metrics
from server.settings import Settings


class Realtime:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        clock: Callable[[], datetime],
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self.hub = EventHub(
            database,
            metrics,
            poll_interval_s=settings.event_poll_interval_ms / 1000,
            queue_size=settings.subscriber_queue_size,
        )
        self.bus = EventBus(
            settings.broadcast_url,
            on_signal=self.hub.signal,
            on_connected=self._bus_connected,
            on_token_revoked=self.hub.token_revoked,
            heartbeat_s=settings.broadcast_heartbeat_ms / 1000,
        )
        self.scheduler = ExpiryScheduler(
            database,
            clock,
            settings.expiry_sweep_interval_s,
            settings.email_public_url(),
            metrics,
            expired_window_days=settings.expired_reminder_window_days,
        )
        database.on_events_committed(self._events_committed)

    def start(self) -> None:
        self.hub.start()
        self.bus.start()
        if self._settings.expiry_scheduler:
            self.scheduler.start()

    async def stop(self) -> None:
        """The scheduler first: cancelling it rolls its day back and frees the claim."""
        await self.scheduler.stop()
        await self.bus.stop()
        await self.hub.stop()

    def _bus_connected(self) -> None:
        self._metrics.bus_connections.inc()
        self.hub.signal_all()  # read whatever was committed while the broker was away

    def _events_committed(self, organization_id: int) -> None:
        self._metrics.events_published.inc()
        self.hub.signal(organization_id)  # this process's subscribers need no round trip
        self.bus.publish_soon(organization_id)
