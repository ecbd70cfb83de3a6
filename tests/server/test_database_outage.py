"""While the database does not answer, the service says so: a typed SERVICE_UNAVAILABLE,
HTTP 503 with Retry-After and an X-Request-ID, on a connection that stays usable; once the
database is back, requests succeed again. Real PostgreSQL, made unreachable."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import pytest

from server.settings import Settings, normalize_database_url
from tests.clock import TestClock
from tests.conftest import http_client_on
from tests.events.live import live_app
from tests.server.process import free_port
from tests.server.tcp_proxy import TcpProxy
from tests.world import World

ME = b'{"query": "{ me { name } }"}'


def _through(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    credentials = netloc[0] + "@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}{host}:{port}"))


def _unavailable(status: int, headers: dict[str, str], body: dict[str, object]) -> None:
    assert status == 503, body
    assert headers["retry-after"].isdigit()
    assert headers["x-request-id"]
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [e["extensions"]["code"] for e in errors] == ["SERVICE_UNAVAILABLE"]


async def test_a_database_that_refuses_connections_answers_service_unavailable(
    settings: Settings,
) -> None:
    # given a service whose PostgreSQL is at a port where nothing listens
    url = normalize_database_url(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    async with http_client_on(replace(settings, database_url=url)) as http:
        # when a request comes
        response = await http.post(
            "/graphql",
            content=ME,
            headers={"Authorization": "Bearer some-token", "Content-Type": "application/json"},
        )
    # then it is told the service is unavailable, typed, with when to retry
    _unavailable(response.status_code, dict(response.headers), response.json())


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str, token: str
) -> tuple[int, dict[str, str], dict[str, object]]:
    """One request on an open keep-alive connection, and its response."""
    import json

    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: " + address.encode() + b"\r\n"
        b"Content-Type: application/json\r\nAuthorization: Bearer " + token.encode() + b"\r\n"
        b"Content-Length: " + str(len(ME)).encode() + b"\r\n\r\n" + ME
    )
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, json.loads(body)


async def test_a_database_outage_answers_503_and_the_service_recovers(
    backend: str, settings: Settings, world: World
) -> None:
    if backend != "postgres":
        pytest.skip("a PostgreSQL made unreachable through a proxy")
    # given a running service whose PostgreSQL is reached through a proxy
    target = urlsplit(settings.database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    config = replace(
        settings,
        database_url=_through(settings.database_url, "127.0.0.1", proxy.port),
        expiry_scheduler=False,
    )
    token = world.token("admin")
    try:
        async with live_app(config, TestClock(datetime(2027, 3, 1, tzinfo=UTC))) as (_, address):
            host, port = address.split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            status, _, body = await _exchange(reader, writer, address, token)
            assert (status, body.get("data")) == (200, {"me": {"name": "Admin"}})
            # when the database goes away
            await proxy.stop()
            # then each request on the same connection is answered 503, typed
            for _ in range(2):
                _unavailable(*await _exchange(reader, writer, address, token))
            # and once it is back, the service answers again
            await proxy.start()
            status, _, body = await _exchange(reader, writer, address, token)
            assert (status, body.get("data")) == (200, {"me": {"name": "Admin"}})
            writer.close()
    finally:
        await proxy.stop()
