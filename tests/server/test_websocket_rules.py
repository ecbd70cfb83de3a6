"""The WebSocket door: which browser origins may open one, and how long a connection may
stay without saying who it is."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from server.settings import Settings
from tests.clock import TestClock
from tests.events.live import ARRIVAL_TIMEOUT_S, PROTOCOL, live_app

DASHBOARD = "https://dashboard.example"


@pytest.fixture
async def address(settings: Settings) -> AsyncIterator[str]:
    config = replace(
        settings,
        expiry_scheduler=False,
        allowed_origins=(DASHBOARD,),
        ws_init_timeout_ms=200,
    )
    async with live_app(config, TestClock(datetime(2027, 3, 1, tzinfo=UTC))) as (_, where):
        yield where


@pytest.mark.parametrize(
    "origin",
    [None, DASHBOARD, "https://Dashboard.example:443", "same-origin"],
    ids=["no origin (not a browser)", "allowed", "allowed, spelled otherwise", "same origin"],
)
async def test_handshakes_from_allowed_origins_are_accepted(
    address: str, origin: str | None
) -> None:
    sent = f"http://{address}" if origin == "same-origin" else origin
    async with connect(
        f"ws://{address}/graphql",
        subprotocols=[PROTOCOL],
        origin=Origin(sent) if sent is not None else None,
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        # Accepted: the server speaks the protocol (and refuses the missing token with 4403).
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://dashboard.example"])
async def test_a_page_on_another_origin_cannot_open_a_websocket(address: str, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            f"ws://{address}/graphql",
            subprotocols=[PROTOCOL],
            origin=Origin(origin),
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_a_connection_that_never_initialises_is_closed_with_4408(address: str) -> None:
    async with connect(f"ws://{address}/graphql", subprotocols=[PROTOCOL]) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
                await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4408
    assert closed.value.rcvd.reason == "Connection initialisation timeout"
