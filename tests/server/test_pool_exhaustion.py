"""A connection pool that is used up answers SERVICE_UNAVAILABLE within
DATABASE_POOL_TIMEOUT_MS, never after SQLAlchemy's 30 s, so callers of other
organizations are not held by one organization's stalled writers."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import httpx

from server.database import Database
from server.settings import Settings
from tests.conftest import http_client_on
from tests.world import World

ME = "{ me { name } }"


async def test_an_exhausted_pool_answers_service_unavailable_fast(
    settings: Settings, world: World
) -> None:
    # Given a service with the default pool, every connection of which is taken
    async with http_client_on(settings) as http, AsyncExitStack() as held:
        transport = http._transport
        assert isinstance(transport, httpx.ASGITransport)
        database: Database = transport.app.state.database  # type: ignore[attr-defined]
        for _ in range(settings.database_pool_size + settings.database_max_overflow):
            await held.enter_async_context(database.engine.connect())
        # When a request comes
        started = time.monotonic()
        response = await http.post(
            "/graphql",
            json={"query": ME},
            headers={"Authorization": f"Bearer {world.token('employee')}"},
        )
        waited = time.monotonic() - started
    # Then it is told at once, and typed, that the service is unavailable
    assert response.status_code == 503, response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert response.headers["retry-after"].isdigit()
    assert waited < settings.database_pool_timeout_ms / 1000 + 3


def test_the_pool_is_a_setting() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_POOL_SIZE": "3",
            "DATABASE_MAX_OVERFLOW": "0",
            "DATABASE_POOL_TIMEOUT_MS": "250",
        }
    )
    assert (
        settings.database_pool_size,
        settings.database_max_overflow,
        settings.database_pool_timeout_ms,
    ) == (3, 0, 250)
    assert Settings().database_pool_timeout_ms == 2_000
