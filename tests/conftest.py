"""Fixtures: a fresh migrated database per test on every configured backend, and an
in-process client for the GraphQL endpoint."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.base import utcnow
from server.app import create_app
from server.database import Database
from server.settings import Settings
from tests import backends
from tests.backends import PostgresRun, SqliteTemplate
from tests.services import fresh_postgres_url
from tests.world import World, build_world

__all__ = ["fresh_postgres_url"]  # a fixture for every test module


def _refuse_default_adapter(value: date) -> str:
    raise TypeError(
        f"a {type(value).__name__} reached the sqlite3 driver: bind it as text "
        "(its default date and datetime adapters are deprecated since Python 3.12)"
    )


def pytest_configure(config: pytest.Config) -> None:
    # On every Python, not only those that warn: our code converts dates itself.
    sqlite3.register_adapter(datetime, _refuse_default_adapter)
    sqlite3.register_adapter(date, _refuse_default_adapter)
    if backends.REQUIRE_SERVICES and not (backends.POSTGRES_URL and backends.REDIS_URL):
        raise pytest.UsageError(
            "TEST_REQUIRE_SERVICES=1 needs TEST_POSTGRES_URL and TEST_REDIS_URL set"
        )


@dataclass
class SqliteTemplates:
    empty: SqliteTemplate
    with_world: SqliteTemplate
    world: World


@pytest.fixture(scope="session")
async def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    empty = await SqliteTemplate.create(tmp_path_factory.mktemp("sqlite-template"))
    with_world, world = await empty.seeded("world", build_world)
    return SqliteTemplates(empty, with_world, world)


@pytest.fixture(scope="session")
async def postgres_run() -> AsyncIterator[PostgresRun | None]:
    if not backends.POSTGRES_URL:
        yield None
        return
    try:
        run = await PostgresRun.create(backends.POSTGRES_URL)
    except OSError as error:
        message = f"PostgreSQL at TEST_POSTGRES_URL is not reachable: {error}"
        if backends.REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    yield run
    await run.drop()


@pytest.fixture(params=backends.backend_names())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    sqlite_templates: SqliteTemplates,
    postgres_run: PostgresRun | None,
) -> AsyncIterator[str]:
    if backend == "sqlite":
        # A test that uses the world starts from a copy of it (see `world`).
        seeded = "world" in request.fixturenames
        template = sqlite_templates.with_world if seeded else sqlite_templates.empty
        yield template.copy_to(tmp_path)
        return
    assert postgres_run is not None
    database = Database(postgres_run.url)
    try:
        await postgres_run.empty(database)
    finally:
        await database.dispose()
    yield postgres_run.url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return replace(
        Settings(), database_url=database_url, load_demo_data=False, media_dir=tmp_path / "media"
    )


@pytest.fixture
async def world(backend: str, database: Database, sqlite_templates: SqliteTemplates) -> World:
    if backend == "sqlite":
        return copy.deepcopy(sqlite_templates.world)  # already in the copied file
    return await build_world(database)


def body_of(response: httpx.Response) -> dict[str, Any]:
    """A response's body without `extensions` (the cost report every response carries)."""
    body: dict[str, Any] = response.json()
    body.pop("extensions", None)
    return body


class GraphQLClient:
    """Posts operations to the in-process app as a client would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.last_extensions: dict[str, Any] | None = None

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The response body without `extensions` (kept in `last_extensions`: the cost
        report every response carries); fails the test on a non-200 status."""
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        self.last_extensions = response.json().get("extensions")
        return body_of(response)


@asynccontextmanager
async def http_client_on(
    settings: Settings, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client of an app of its own, running on `clock`."""
    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        # What the lifespan would close (in-process transports do not run it).
        if app.state.rate_limiter is not None:
            await app.state.rate_limiter.close()
        await app.state.database.dispose()


@asynccontextmanager
async def client_on(
    settings: Settings, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[GraphQLClient]:
    async with http_client_on(settings, clock) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def graphql(settings: Settings, database: Database) -> AsyncIterator[GraphQLClient]:
    async with client_on(settings) as client:
        yield client
