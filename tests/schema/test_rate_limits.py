"""Rate limits per token on query cost: a bucket that refills with time (the app's clock,
moved by the test), THROTTLED with when to retry, shared through Redis when configured."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import asyncio as aioredis

from server.settings import Settings
from tests import backends
from tests.clock import TestClock
from tests.conftest import GraphQLClient, client_on
from tests.world import World

# 1 (users) + 10 x (edge + node) = 21 points
TEN_USERS = "query Ten { users(first: 10) { edges { node { name } } } }"
START = datetime(2030, 5, 1, 8, 0, tzinfo=UTC)


def _limited(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, rate_limit_capacity=50, rate_limit_restore_rate=10, **changes)


async def _cost_status(client: GraphQLClient, token: str) -> dict[str, Any]:
    body = await client.execute(TEN_USERS, token=token)
    assert "errors" not in body, body
    assert client.last_extensions is not None
    status: dict[str, Any] = client.last_extensions["cost"]["throttleStatus"]
    return status


async def test_a_token_is_throttled_when_its_bucket_is_empty_until_it_refills(
    settings: Settings, world: World
) -> None:
    clock = TestClock(START)
    async with client_on(_limited(settings), clock) as client:
        # given two operations of 21 points from a bucket of 50
        first = await _cost_status(client, world.token("admin"))
        second = await _cost_status(client, world.token("admin"))
        # when a third arrives at the same instant
        refused = await client.execute(TEN_USERS, token=world.token("admin"))
        # then it is refused, saying when 21 points will be there again (8 left, 10 a second)
        [error] = refused["errors"]
        assert refused["data"] is None
        assert error["extensions"]["code"] == "THROTTLED"
        assert error["extensions"]["retryAfterSeconds"] == 1.3
        # and once that time has passed it runs
        clock.advance(timedelta(seconds=1.3))
        after = await _cost_status(client, world.token("admin"))
    assert (first["currentlyAvailable"], second["currentlyAvailable"]) == (29, 8)
    assert after["currentlyAvailable"] == 0


async def test_each_token_has_a_bucket_of_its_own(settings: Settings, world: World) -> None:
    async with client_on(_limited(settings), TestClock(START)) as client:
        for _ in range(2):
            await _cost_status(client, world.token("admin"))
        throttled = await client.execute(TEN_USERS, token=world.token("admin"))
        other = await _cost_status(client, world.token("users_manager"))
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert other["currentlyAvailable"] == 29


async def test_a_zero_capacity_turns_rate_limiting_off(settings: Settings, world: World) -> None:
    async with client_on(replace(settings, rate_limit_capacity=0), TestClock(START)) as client:
        for _ in range(5):
            body = await client.execute(TEN_USERS, token=world.token("admin"))
            assert "errors" not in body
            assert client.last_extensions is not None
            assert "throttleStatus" not in client.last_extensions["cost"]


@pytest.mark.skipif(not backends.REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_instances_sharing_redis_share_the_buckets(
    settings: Settings, world: World, backend: str
) -> None:
    # given two apps (two instances) on one Redis, in a database index of this test's own
    # (one per backend: the two variants may run at once on two workers)
    index = {"sqlite": 15, "postgres": 14}[backend]
    redis_url = backends.REDIS_URL.rsplit("/", 1)[0] + f"/{index}"
    redis = aioredis.Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    shared = _limited(settings, broadcast_url=redis_url)
    clock = TestClock(START)
    async with client_on(shared, clock) as one, client_on(shared, clock) as two:
        # when the token spends its bucket on the first instance
        await _cost_status(one, world.token("admin"))
        await _cost_status(one, world.token("admin"))
        # then the second instance throttles it too
        refused = await two.execute(TEN_USERS, token=world.token("admin"))
    assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"
