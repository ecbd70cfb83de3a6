"""A Redis backend for broadcaster that hears what it subscribed to.

broadcaster 0.3.1's own Redis backend starts its listener before the subscription is
registered; when the listener wins that race it finds nothing subscribed, stops, and
never listens again (the subscriber is deaf from its first moment), and a dropped
connection ends it without a word. This one reads the subscription directly, so a lost
connection raises, and the bus's heartbeat notices anything else.
"""

from __future__ import annotations

from typing import Any

from broadcaster._backends.base import BroadcastBackend
from broadcaster._base import Event
from redis import asyncio as aioredis


class RedisPubSubBackend(BroadcastBackend):
    def __init__(self, url: str) -> None:
        self._connection = aioredis.Redis.from_url(url)
        self._pubsub = self._connection.pubsub()

    async def connect(self) -> None:
        await self._connection.ping()  # fail now, not at the first message, if unreachable

    async def disconnect(self) -> None:
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py's own hint gap
        await self._connection.aclose()

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._connection.publish(channel, message)

    async def next_published(self) -> Event:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is not None and message["type"] == "message":
                return Event(channel=message["channel"].decode(), message=message["data"].decode())
