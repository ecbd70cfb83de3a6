from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from server.database import Database
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import client_on
from tests.delivery.mail_server import MailServer, mail_server
from tests.delivery.scene import START, Scene
from tests.world import World


@pytest.fixture
async def scene(settings: Settings, database: Database, world: World) -> AsyncIterator[Scene]:
    clock = TestClock(START)
    async with client_on(settings, clock) as client:
        yield Scene(settings, database, client, clock, world)


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with mail_server() as server:
        yield server
