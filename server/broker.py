"""The event bus on broadcaster: one subscription per process, supervised.

broadcaster is the transport (memory://, redis://, postgres://), and it has faults that
must not reach users: its Redis listener dies silently when the connection drops, two
first subscribers of a channel can race, and its queues are unbounded. So this process
subscribes once, proves the subscription alive with heartbeats (a deaf one is torn down
and reconnected with backoff), and hands each message straight to a callback. Messages
are only signals ("organization N has new events"): the event log in the database is the
truth, and the hub reads it, also after every reconnection, so a lost message delays an
event but never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import asyncpg
from broadcaster import Broadcast
from broadcaster._base import Subscriber
from redis import asyncio as aioredis

from server.background import BackgroundTask
from server.redis_pubsub import RedisPubSubBackend

logger = logging.getLogger("credentials.broker")

CHANNEL = "credential-events"
_PROBE_TIMEOUT_S = 2.0
_FIRST_RETRY_S = 0.2
_LAST_RETRY_S = 10.0
_BROKER_ERRORS = (OSError, TimeoutError, aioredis.RedisError, asyncpg.PostgresError)


class BrokerDeaf(Exception):
    """No message, not even our own heartbeat, came back in time."""


class EventBus:
    """Publishes signals and delivers every signal received to `on_signal`; calls
    `on_connected` after each (re)connection so the reader can catch up from the log."""

    def __init__(
        self,
        url: str,
        on_signal: Callable[[int], None],
        on_connected: Callable[[], None],
        on_token_revoked: Callable[[int], None],
        heartbeat_s: float = 1.0,
    ) -> None:
        self.url = url
        self._on_signal = on_signal
        self._on_token_revoked = on_token_revoked
        self._on_connected = on_connected
        self._heartbeat_s = heartbeat_s
        self._broadcast: Broadcast | None = None
        self._task = BackgroundTask("event-bus", self._supervise)
        self._publishing: set[asyncio.Task[None]] = set()
        # Organizations whose signal could not be sent: sent again after reconnecting,
        # so other instances hear of the events without waiting for their poll.
        self._unsent: set[int] = set()
        self.heartbeats_heard = 0

    @property
    def connected(self) -> bool:
        return self._broadcast is not None

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    def publish_soon(self, organization_id: int) -> None:
        """Publishes without making the caller (a committed mutation) wait for it."""
        task = asyncio.create_task(self.publish(organization_id))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def ready(self) -> bool:
        return self.connected and await broker_reachable(self.url)

    async def publish(self, organization_id: int) -> None:
        """When the broker is away the signal waits for the next connection (one per
        organization: a signal only says "read the log"); readers that reconnect first
        or poll find the event in the log anyway."""
        broadcast = self._broadcast
        if broadcast is None:
            self._unsent.add(organization_id)
            return
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                await broadcast.publish(CHANNEL, organization_signal(organization_id))
        except _BROKER_ERRORS as error:
            self._unsent.add(organization_id)
            logger.warning(
                "publishing to the broker failed (%s); sent again on reconnecting", error
            )

    def _publish_unsent(self) -> None:
        unsent, self._unsent = self._unsent, set()
        for organization_id in unsent:
            self.publish_soon(organization_id)

    async def _supervise(self) -> None:
        delay = _FIRST_RETRY_S
        while True:
            broadcast = open_broadcast(self.url)
            try:
                await broadcast.connect()
                async with broadcast.subscribe(CHANNEL) as subscriber:
                    self._broadcast = broadcast
                    logger.info("event bus connected at %s", redacted(self.url))
                    self._on_connected()
                    self._publish_unsent()
                    delay = _FIRST_RETRY_S
                    await self._listen(broadcast, subscriber)
            except (*_BROKER_ERRORS, BrokerDeaf) as error:
                logger.warning(
                    "event bus at %s lost (%s); reconnecting in %.1f s",
                    redacted(self.url),
                    error or type(error).__name__,
                    delay,
                )
            except Exception:  # a bug must not end supervision: log it and reconnect
                logger.exception("event bus failed unexpectedly; reconnecting in %.1f s", delay)
            finally:
                self._broadcast = None
                await _close_quietly(broadcast)
            await asyncio.sleep(delay)  # backoff between reconnection attempts
            delay = min(delay * 2, _LAST_RETRY_S)

    async def _listen(self, broadcast: Broadcast, subscriber: Subscriber) -> None:
        loop = asyncio.get_running_loop()
        last_heard = loop.time()

        async def read() -> None:
            nonlocal last_heard
            while True:
                message = await subscriber.get()
                last_heard = loop.time()
                kind, key = _parsed(message.message)
                if kind == _HEARTBEAT:
                    self.heartbeats_heard += 1
                elif kind == _ORGANIZATION:
                    self._on_signal(key)
                elif kind == _REVOKED_TOKEN:
                    self._on_token_revoked(key)

        async def watch() -> None:
            while True:
                await asyncio.sleep(self._heartbeat_s)  # the heartbeat period
                async with asyncio.timeout(_PROBE_TIMEOUT_S):
                    await broadcast.publish(CHANNEL, json.dumps({_HEARTBEAT: 1}))
                if loop.time() - last_heard > 3 * self._heartbeat_s:
                    raise BrokerDeaf(f"nothing heard for {loop.time() - last_heard:.1f} s")

        tasks = [asyncio.create_task(read()), asyncio.create_task(watch())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()


async def publish_once(url: str, messages: Iterable[str]) -> None:
    """For a process without a bus of its own (the CLI): tell the instances (of new events,
    of a revoked token). In-process broadcast reaches no other process; the instances then
    find out on their next poll or check."""
    if urlsplit(url).scheme == "memory":
        return
    broadcast = open_broadcast(url)
    try:
        await broadcast.connect()
        for message in messages:
            await broadcast.publish(CHANNEL, message)
    except _BROKER_ERRORS as error:
        logger.warning("could not signal the instances (%s); they will poll", error)
    finally:
        await _close_quietly(broadcast)


def open_broadcast(url: str) -> Broadcast:
    """broadcaster for the URL's scheme, with our own Redis backend (see redis_pubsub)."""
    if urlsplit(url).scheme in ("redis", "rediss"):
        return Broadcast(backend=RedisPubSubBackend(url))
    return Broadcast(url)


_ORGANIZATION = "organization"
_REVOKED_TOKEN = "revokedToken"
_HEARTBEAT = "heartbeat"


def organization_signal(organization_id: int) -> str:
    return json.dumps({_ORGANIZATION: organization_id})


def revoked_token_signal(token_id: int) -> str:
    return json.dumps({_REVOKED_TOKEN: token_id})


def _parsed(message: str) -> tuple[str | None, int]:
    """(what the message signals, the id it names); (None, 0) for anything else."""
    try:
        decoded = json.loads(message)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        for kind in (_ORGANIZATION, _REVOKED_TOKEN, _HEARTBEAT):
            value = decoded.get(kind)
            if isinstance(value, int) and not isinstance(value, bool):
                return kind, value
    return None, 0


async def _close_quietly(broadcast: Broadcast) -> None:
    """broadcaster re-raises its dead listener's error on disconnect and leaves a
    half-open backend when connect failed: neither matters once we let go of it."""
    with contextlib.suppress(Exception):
        await broadcast.disconnect()
    with contextlib.suppress(Exception):
        await broadcast._backend.disconnect()


def redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


async def broker_reachable(url: str) -> bool:
    """Whether the broker answers now. The in-process backend always does."""
    scheme = urlsplit(url).scheme
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            if scheme in ("redis", "rediss"):
                client = aioredis.Redis.from_url(url)
                try:
                    await client.ping()
                finally:
                    await client.aclose()
            elif scheme in ("postgres", "postgresql"):
                connection = await asyncpg.connect(url)
                try:
                    await connection.execute("SELECT 1")
                finally:
                    await connection.close()
    except _BROKER_ERRORS:
        return False
    return True
