"""The broadcast backend (broadcaster), chosen by BROADCAST_URL, and its readiness probe."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
from broadcaster import Broadcast
from redis import asyncio as aioredis

SUPPORTED_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")
_PROBE_TIMEOUT_S = 2.0


def create_broadcast(url: str) -> Broadcast:
    scheme = urlsplit(url).scheme
    if scheme not in SUPPORTED_SCHEMES:
        raise ValueError(
            f"BROADCAST_URL {url!r} is not supported: use memory://, redis://host:6379 "
            "or postgres://user@host/database"
        )
    return Broadcast(url)


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
    except (OSError, TimeoutError, aioredis.RedisError, asyncpg.PostgresError):
        return False
    return True
