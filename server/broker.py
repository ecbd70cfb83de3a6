"""The broadcast backend (broadcaster), chosen by BROADCAST_URL: connected in the
background so that the service starts, and reports itself not ready, while the broker
is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

import asyncpg
from broadcaster import Broadcast
from redis import asyncio as aioredis

logger = logging.getLogger("credentials.broker")

_PROBE_TIMEOUT_S = 2.0
_FIRST_RETRY_S = 0.5
_LAST_RETRY_S = 30.0
_BROKER_ERRORS = (OSError, TimeoutError, aioredis.RedisError, asyncpg.PostgresError)


class BroadcastConnection:
    """Owns the process's Broadcast; connects with exponential backoff until it succeeds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.broadcast: Broadcast | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.broadcast is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_until_done(), name="broadcast-connect")

    async def _connect_until_done(self) -> None:
        delay = _FIRST_RETRY_S
        while True:
            candidate = Broadcast(self.url)
            try:
                await candidate.connect()
            except _BROKER_ERRORS as error:
                # broadcaster leaves its backend half-open when connect fails.
                with contextlib.suppress(Exception):
                    await candidate._backend.disconnect()
                logger.warning(
                    "broadcast at %s unreachable (%s); retrying in %.1f s",
                    _redacted(self.url),
                    error,
                    delay,
                )
                await asyncio.sleep(delay)  # backoff between reconnection attempts
                delay = min(delay * 2, _LAST_RETRY_S)
                continue
            self.broadcast = candidate
            logger.info("broadcast connected at %s", _redacted(self.url))
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.broadcast is not None:
            await self.broadcast.disconnect()
            self.broadcast = None

    async def ready(self) -> bool:
        return self.connected and await broker_reachable(self.url)


def _redacted(url: str) -> str:
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
