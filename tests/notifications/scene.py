"""A scene for expiry reminder tests: an app on a test clock, credentials made and
approved through the API, sweeps run on chosen days, and the reminders they wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from models.event import CredentialEvent, CredentialEventKind
from models.tenancy import unscoped
from server.database import Database
from server.expiry_scheduler import run_sweep
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient, client_on
from tests.credentials.factories import approve, create_credential, create_type
from tests.world import World

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
EXPIRY = date(2027, 4, 10)

ARCHIVE = "mutation A($id: ID!) { archiveCredential(id: $id) { errors { code } } }"
ADD_VERSION = """
mutation Add($input: AddCredentialVersionInput!) {
  addCredentialVersion(input: $input) { errors { code } }
}
"""
SETTINGS = """
mutation S($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    settings { expiryReminders leadTimesDays }
    errors { code field message }
  }
}
"""


@dataclass
class Scene:
    database: Database
    client: GraphQLClient
    clock: TestClock
    world: World

    async def credential(self, holder: str = "employee", expiry: date = EXPIRY) -> str:
        admin = self.world.token("admin")
        type_id = await create_type(self.client, admin, name=f"Licence {expiry} {holder}")
        created = await create_credential(
            self.client,
            admin,
            type_id,
            self.world.user_ids[holder],
            issueDate="2024-04-10",
            expiryDate=expiry.isoformat(),
        )
        await approve(self.client, self.world.token("credentials_manager"), created["id"])
        return str(created["id"])

    async def sweep_on(self, day: date) -> int:
        self.clock.set_day(day)
        return (await run_sweep(self.database, self.clock)).reminders_sent

    async def reminders(self) -> list[tuple[str, Any, Any]]:
        """(kind, leadDays, day sent) of every expiry event, in order."""
        expiry_kinds = (CredentialEventKind.EXPIRING_SOON, CredentialEventKind.EXPIRED)
        async with self.database.read(unscoped()) as session:
            events = await session.scalars(
                select(CredentialEvent)
                .where(CredentialEvent.kind.in_(expiry_kinds))
                .order_by(CredentialEvent.id)
            )
            return [
                (e.kind.value, e.data.get("leadDays"), e.occurred_at.date().isoformat())
                for e in events
            ]


@pytest.fixture
async def scene(settings: Settings, database: Database, world: World) -> AsyncIterator[Scene]:
    clock = TestClock(START)
    async with client_on(settings, clock) as client:
        scene = Scene(database, client, clock, world)
        await scene.sweep_on(START.date())  # the installation's first sweep starts today
        yield scene


def days_between(first: date, last: date) -> list[date]:
    """Every day from first through last."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
