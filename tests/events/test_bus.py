"""The event bus on each broadcaster backend: a signal published reaches the subscription
(first time, without a reconnection), and a broker that goes away is reconnected to,
after which the reader is told to catch up from the log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import pytest

from server.broker import EventBus
from tests import backends
from tests.events.live import until
from tests.services import private_redis


@dataclass
class Heard:
    signals: list[int] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)
    connections: int = 0

    def signal(self, organization_id: int) -> None:
        self.signals.append(organization_id)

    def token_revoked(self, token_id: int) -> None:
        self.revoked.append(token_id)

    def connected(self) -> None:
        self.connections += 1

    async def until(self, done: Callable[[], bool]) -> None:
        async def holds() -> bool:
            return done()

        await until(holds)


@asynccontextmanager
async def running_bus(url: str, heartbeat_s: float = 0.3) -> AsyncIterator[tuple[EventBus, Heard]]:
    heard = Heard()
    bus = EventBus(url, heard.signal, heard.connected, heard.token_revoked, heartbeat_s)
    bus.start()
    try:
        await heard.until(lambda: heard.connections == 1)
        yield bus, heard
    finally:
        await bus.stop()


@contextmanager
def broker_url(kind: str) -> Iterator[str]:
    if kind == "memory":
        yield "memory://"
    elif kind == "redis":
        with private_redis() as redis:
            yield redis.url
    else:
        if not backends.POSTGRES_URL:
            if backends.REQUIRE_SERVICES:
                pytest.fail("TEST_POSTGRES_URL is not set")
            pytest.skip("TEST_POSTGRES_URL is not set")
        parts = urlsplit(backends.POSTGRES_URL)
        yield urlunsplit(parts._replace(scheme="postgres"))


@pytest.mark.parametrize("kind", ["memory", "redis", "postgres"])
async def test_a_published_signal_reaches_the_subscription_without_reconnecting(
    kind: str,
) -> None:
    with broker_url(kind) as url:
        async with running_bus(url) as (bus, heard):
            bus.publish_soon(41)
            await heard.until(lambda: 41 in heard.signals)
            # Heartbeats go round several times and are heard: no reconnection.
            await heard.until(lambda: bus.heartbeats_heard >= 2)
    assert heard.connections == 1


async def test_after_redis_comes_back_the_bus_reconnects_and_asks_for_a_catch_up() -> None:
    with private_redis() as redis:
        async with running_bus(redis.url) as (bus, heard):
            redis.kill()
            redis.start()
            await heard.until(lambda: heard.connections == 2)
            bus.publish_soon(7)
            await heard.until(lambda: 7 in heard.signals)


async def test_a_signal_published_while_redis_is_away_is_sent_once_it_is_back() -> None:
    # One bus hears its own signals, so the test needs no second bus's reconnection timing.
    with private_redis() as redis:
        async with running_bus(redis.url) as (bus, heard):
            redis.kill()
            # Whether or not the bus has noticed yet, the signal cannot go now.
            await bus.publish(8)
            assert 8 not in heard.signals
            redis.start()
            await heard.until(lambda: 8 in heard.signals)
