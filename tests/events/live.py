"""A real uvicorn server in the test's process (so the test owns its clock and database)
and a graphql-transport-ws client over a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from server.app import create_app
from server.settings import Settings
from tests.conftest import GraphQLClient
from tests.server.process import free_port

PROTOCOL = Subprotocol("graphql-transport-ws")
# How long a test waits for something that should arrive at once; not a sleep.
ARRIVAL_TIMEOUT_S = 10.0


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Polls a state until it holds (failing after ARRIVAL_TIMEOUT_S): it waits for
    something to happen, never for time to pass."""
    async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)  # the pause between polls


@asynccontextmanager
async def live_app(
    settings: Settings, clock: Callable[[], datetime]
) -> AsyncIterator[tuple[Starlette, str]]:
    """The app served by uvicorn on a free port, lifespan included; yields (app, base url)."""
    app = create_app(settings, clock=clock)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())

    async def serving() -> bool:
        if task.done():
            task.result()  # start-up failed: say why
        # Started, with its event bus subscribed: a signal published from now on arrives.
        return bool(server.started and app.state.realtime.bus.connected)

    await until(serving)
    try:
        yield app, f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def until_live(address: str, subscriptions: int) -> None:
    """Until the server has that many subscriptions open, none still replaying the log:
    from then on, events reach them through their queues."""
    wanted = {
        f"graphql_subscriptions_open {float(subscriptions)}",
        "graphql_subscriptions_replaying 0.0",
    }
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:

        async def live() -> bool:
            return wanted <= set((await http.get("/metrics")).text.splitlines())

        await until(live)


@asynccontextmanager
async def http_graphql(address: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as http:
        yield GraphQLClient(http)


class Subscriber:
    """One graphql-transport-ws connection; `subscribe` starts operations on it."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self._next_id = 0

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        operation_id = str(self._next_id)
        await self.socket.send(
            json.dumps(
                {
                    "id": operation_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return operation_id

    async def receive(self, within_s: float = ARRIVAL_TIMEOUT_S) -> dict[str, Any]:
        """The next protocol message other than ping/pong."""
        async with asyncio.timeout(within_s):
            while True:
                message: dict[str, Any] = json.loads(await self.socket.recv())
                if message["type"] not in ("ping", "pong"):
                    return message

    async def events(self, count: int, within_s: float = ARRIVAL_TIMEOUT_S) -> list[dict[str, Any]]:
        """The payload data of the next `count` `next` messages; fails on anything else."""
        found = []
        for _ in range(count):
            message = await self.receive(within_s)
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            found.append(message["payload"]["data"])
        return found


@asynccontextmanager
async def subscriber(address: str, token: str) -> AsyncIterator[Subscriber]:
    async with connect(f"ws://{address}/graphql", subprotocols=[PROTOCOL]) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await socket.recv())
        assert ack["type"] == "connection_ack", ack
        yield Subscriber(socket)
