"""Fans credential events out to this process's subscribers.

The hub reads the event log of each organization that has subscribers here, from the
last id it delivered, whenever it is told there is something new (a local commit or a
broker signal) and, as a safety net for lost signals, every poll interval. Each event is
loaded once with what it speaks of and offered to every subscription, each of which has a
bounded queue: a subscriber that falls behind is told so, and resumes from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque

from models.event import select_events_after, select_last_event_id
from models.tenancy import scoped_to
from server.background import BackgroundTask
from server.database import Database
from server.metrics import Metrics
from services.events import EventFilter, EventSnapshot, load_snapshots

logger = logging.getLogger("credentials.events")

READ_BATCH = 200


class SubscriberTooSlow(Exception):
    """More events waited for this subscriber than its queue holds."""


class TokenRevoked(Exception):
    """The token this subscription was opened with has been revoked."""


class Subscription:
    def __init__(self, organization_id: int, event_filter: EventFilter, capacity: int) -> None:
        self.organization_id = organization_id
        self.filter = event_filter
        self._capacity = capacity
        self._queue: deque[EventSnapshot] = deque()
        self._ready = asyncio.Event()
        self.overflowed = False
        self.revoked = False
        # Reading the log up to now; then live, from the queue.
        self.replaying = True
        # The newest event id when the subscription was registered: "from now on".
        self.started_after = 0

    def offer(self, snapshot: EventSnapshot) -> None:
        if self.overflowed or not self.filter.accepts(snapshot):
            return
        if len(self._queue) >= self._capacity:
            self.overflowed = True
            self._queue.clear()
        else:
            self._queue.append(snapshot)
        self._ready.set()

    def revoke(self) -> None:
        self.revoked = True
        self._ready.set()

    async def next(self) -> EventSnapshot:
        while not self._queue or self.revoked:
            if self.revoked:
                raise TokenRevoked()
            if self.overflowed:
                raise SubscriberTooSlow()
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def forget_overflow(self) -> None:
        """After catching up from the log, the queue starts afresh."""
        self.overflowed = False
        self._queue.clear()


class EventHub:
    def __init__(
        self,
        database: Database,
        metrics: Metrics | None = None,
        poll_interval_s: float = 2.0,
        queue_size: int = 1000,
    ) -> None:
        self._database = database
        self._metrics = metrics
        self._poll_interval_s = poll_interval_s
        self._queue_size = queue_size
        self._subscriptions: dict[int, set[Subscription]] = defaultdict(set)
        self._last_seen: dict[int, int] = {}
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task = BackgroundTask("event-hub", self._run)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    @property
    def open_subscriptions(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def signal(self, organization_id: int) -> None:
        """Something new may be in the organization's log."""
        if organization_id in self._subscriptions:
            self._pending.add(organization_id)
            self._wake.set()

    def token_revoked(self, token_id: int) -> None:
        """Ends at once every subscription opened with the token."""
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                if subscription.filter.viewer.token_id == token_id:
                    subscription.revoke()

    def signal_all(self) -> None:
        """After a broker outage: any organization may have news."""
        self._pending.update(self._subscriptions)
        self._wake.set()

    async def subscribe(self, organization_id: int, event_filter: EventFilter) -> Subscription:
        subscription = Subscription(organization_id, event_filter, self._queue_size)
        self._subscriptions[organization_id].add(subscription)
        # Read after registering: whatever commits later reaches the queue or the replay.
        last_id = await self._last_event_id(organization_id)
        subscription.started_after = last_id
        self._last_seen.setdefault(organization_id, last_id)
        self._gauge()
        return subscription

    def went_live(self, subscription: Subscription) -> None:
        subscription.replaying = False
        self._gauge()

    def unsubscribe(self, subscription: Subscription) -> None:
        organization_id = subscription.organization_id
        subscriptions = self._subscriptions.get(organization_id)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._subscriptions[organization_id]
            self._last_seen.pop(organization_id, None)
        self._gauge()

    async def read(self, organization_id: int, after_id: int) -> list[EventSnapshot]:
        """The next batch of the organization's log after an id, with what it speaks of."""
        async with self._database.read(scoped_to(organization_id)) as session:
            events = list(await session.scalars(select_events_after(after_id, READ_BATCH)))
            if not events:
                return []
            return await load_snapshots(session, events)

    async def _last_event_id(self, organization_id: int) -> int:
        async with self._database.read(scoped_to(organization_id)) as session:
            return int(await session.scalar(select_last_event_id()) or 0)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval_s):
                    await self._wake.wait()
            self._wake.clear()
            pending = self._pending or set(self._subscriptions)
            self._pending = set()
            for organization_id in pending:
                try:
                    await self._deliver_news(organization_id)
                except Exception:  # the database may be away: the next poll tries again
                    logger.exception(
                        "reading the event log of organization %s failed", organization_id
                    )

    async def _deliver_news(self, organization_id: int) -> None:
        while organization_id in self._last_seen:
            snapshots = await self.read(organization_id, self._last_seen[organization_id])
            if not snapshots or organization_id not in self._last_seen:
                return
            for subscription in list(self._subscriptions.get(organization_id, ())):
                for snapshot in snapshots:
                    subscription.offer(snapshot)
            self._last_seen[organization_id] = snapshots[-1].id
            if self._metrics is not None:
                self._metrics.events_read.inc(len(snapshots))

    def _gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.subscriptions.set(self.open_subscriptions)
            self._metrics.subscriptions_replaying.set(
                sum(s.replaying for subs in self._subscriptions.values() for s in subs)
            )
