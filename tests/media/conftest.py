"""Media tests talk HTTP to an app of their own: multipart for files, JSON for the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from server.database import Database
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient, http_client_on
from tests.credentials.factories import create_type
from tests.world import World

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class MediaApp:
    http: httpx.AsyncClient
    graphql: GraphQLClient
    settings: Settings
    clock: TestClock

    @property
    def media_dir(self) -> Path:
        return self.settings.media_dir


@pytest.fixture
def clock() -> TestClock:
    return TestClock(START, step=timedelta(seconds=1))


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    """Small caps, so that tests can pass them with small files."""
    return replace(settings, media_max_file_bytes=4_000, media_max_files=3)


@pytest.fixture
async def app(
    media_settings: Settings, database: Database, clock: TestClock
) -> AsyncIterator[MediaApp]:
    async with http_client_on(media_settings, clock) as http:
        yield MediaApp(http, GraphQLClient(http), media_settings, clock)


@pytest.fixture
async def type_id(app: MediaApp, world: World) -> str:
    """A type that requires media."""
    return await create_type(app.graphql, world.token("admin"), mediaRule="REQUIRED")
