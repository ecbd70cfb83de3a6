"""Rate limits on query cost, per API token: a leaky bucket in the style of Shopify's.

Each token has a bucket of `capacity` points that refills at `restore_rate` points a
second; an operation takes its calculated cost from it, or is refused (THROTTLED) with
the time after which it would fit. With Redis configured the buckets live there, shared by
every instance; otherwise in the process. Time comes from the app's clock.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from redis import asyncio as aioredis

logger = logging.getLogger("credentials.ratelimit")


_EPSILON = 1e-6


@dataclass(frozen=True)
class Decision:
    allowed: bool
    available: float
    retry_after_seconds: float


@dataclass(frozen=True)
class BucketShape:
    capacity: int
    restore_rate: float  # points a second

    def decide(self, level: float, cost: int) -> Decision:
        # Levels are floats of elapsed seconds times the rate: allow for rounding.
        if cost <= level + _EPSILON:
            return Decision(True, max(level - cost, 0.0), 0.0)
        missing = min(cost, self.capacity) - level
        wait = math.ceil(missing / self.restore_rate * 10 - _EPSILON) / 10
        return Decision(False, level, wait)

    def refilled(self, level: float, elapsed_seconds: float) -> float:
        return min(self.capacity, level + max(elapsed_seconds, 0.0) * self.restore_rate)


class CostBuckets(Protocol):
    shape: BucketShape

    async def take(self, key: str, cost: int, now: datetime) -> Decision: ...

    async def close(self) -> None: ...


class MemoryBuckets:
    """Buckets of one process."""

    def __init__(self, shape: BucketShape) -> None:
        self.shape = shape
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, cost: int, now: datetime) -> Decision:
        at = now.timestamp()
        level, updated = self._buckets.get(key, (float(self.shape.capacity), at))
        decision = self.shape.decide(self.shape.refilled(level, at - updated), cost)
        self._buckets[key] = (decision.available, at)
        return decision

    async def close(self) -> None:
        self._buckets.clear()


# Refill, then take if it fits, atomically. KEYS[1] bucket; ARGV: capacity, rate, now, cost.
_TAKE = """
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
level = math.min(capacity, level + math.max(now - at, 0) * rate)
local allowed = 0
if cost <= level + 0.000001 then level = math.max(level - cost, 0); allowed = 1 end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {allowed, tostring(level)}
"""


class RedisBuckets:
    """Buckets shared by every instance that uses the same Redis."""

    def __init__(self, url: str, shape: BucketShape, prefix: str = "ratelimit:") -> None:
        self.shape = shape
        self._client = aioredis.Redis.from_url(url)
        self._take = self._client.register_script(_TAKE)
        self._prefix = prefix

    async def take(self, key: str, cost: int, now: datetime) -> Decision:
        try:
            allowed, level = await self._take(
                keys=[self._prefix + key],
                args=[self.shape.capacity, self.shape.restore_rate, now.timestamp(), cost],
            )
        except (OSError, aioredis.RedisError):
            # Availability over strictness: the limit is back as soon as Redis is.
            logger.warning("rate limit not applied: Redis did not answer", exc_info=True)
            return Decision(True, float(self.shape.capacity), 0.0)
        if int(allowed):
            return Decision(True, float(level), 0.0)
        return self.shape.decide(float(level), cost)

    async def close(self) -> None:
        await self._client.aclose()
