"""The expiry sweep: each reminder once, at each lead time and on expiry, caught up after
downtime, never for archived credentials, superseded versions or holders who opted out,
and exactly once when instances race."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from models.event import CredentialEvent, CredentialEventKind
from models.reminder import ExpiryReminder, select_reminder_candidates
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


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


EXPECTED = [
    ("EXPIRING_SOON", 30, "2027-03-11"),
    ("EXPIRING_SOON", 7, "2027-04-03"),
    ("EXPIRING_SOON", 1, "2027-04-09"),
    ("EXPIRING_SOON", 0, "2027-04-10"),
    ("EXPIRED", None, "2027-04-11"),
]


async def test_reminders_come_at_each_default_lead_time_and_on_expiry_once_each(
    scene: Scene,
) -> None:
    await scene.credential()

    for day in _days(date(2027, 3, 2), date(2027, 4, 20)):
        await scene.sweep_on(day)
        await scene.sweep_on(day)  # a second run the same day finds nothing new

    assert await scene.reminders() == EXPECTED


async def test_reminders_missed_while_down_are_sent_once_late_not_skipped(scene: Scene) -> None:
    await scene.credential()

    sent = await scene.sweep_on(date(2027, 4, 12))  # nothing ran since March 1
    again = await scene.sweep_on(date(2027, 4, 12))

    assert (sent, again) == (5, 0)
    assert [(kind, lead) for kind, lead, _ in await scene.reminders()] == [
        (kind, lead) for kind, lead, _ in EXPECTED
    ]
    assert {day for _, _, day in await scene.reminders()} == {"2027-04-12"}


async def test_no_reminder_for_archived_credentials(scene: Scene) -> None:
    credential_id = await scene.credential()
    body = await scene.client.execute(
        ARCHIVE, {"id": credential_id}, token=scene.world.token("admin")
    )
    assert body["data"]["archiveCredential"]["errors"] == []

    await scene.sweep_on(date(2027, 4, 30))

    assert await scene.reminders() == []


async def test_a_renewed_version_supersedes_the_old_ones_reminders(scene: Scene) -> None:
    credential_id = await scene.credential()
    await scene.sweep_on(date(2027, 3, 11))  # the 30-day reminder of version 1
    renewal = {"credentialId": credential_id, "issueDate": "2027-03-12", "expiryDate": "2030-03-12"}
    body = await scene.client.execute(
        ADD_VERSION, {"input": renewal}, token=scene.world.token("employee")
    )
    assert body["data"]["addCredentialVersion"]["errors"] == []
    await approve(scene.client, scene.world.token("credentials_manager"), credential_id)

    await scene.sweep_on(date(2027, 4, 30))

    assert await scene.reminders() == [EXPECTED[0]]


async def test_a_pending_renewal_does_not_silence_the_approved_versions_reminders(
    scene: Scene,
) -> None:
    credential_id = await scene.credential()
    renewal = {"credentialId": credential_id, "issueDate": "2027-03-12", "expiryDate": "2030-03-12"}
    await scene.client.execute(ADD_VERSION, {"input": renewal}, token=scene.world.token("employee"))

    await scene.sweep_on(date(2027, 3, 11))

    assert await scene.reminders() == [EXPECTED[0]]


async def test_holders_who_turned_reminders_off_get_none(scene: Scene) -> None:
    await scene.credential()
    body = await scene.client.execute(
        SETTINGS, {"input": {"expiryReminders": False}}, token=scene.world.token("employee")
    )
    assert body["data"]["updateNotificationSettings"]["errors"] == []

    await scene.sweep_on(date(2027, 4, 30))

    assert await scene.reminders() == []


async def test_chosen_lead_times_replace_the_defaults(scene: Scene) -> None:
    await scene.credential()
    body = await scene.client.execute(
        SETTINGS, {"input": {"leadTimesDays": [14, 2]}}, token=scene.world.token("employee")
    )
    assert body["data"]["updateNotificationSettings"]["settings"] == {
        "expiryReminders": True,
        "leadTimesDays": [14, 2],
    }

    for day in _days(date(2027, 3, 2), date(2027, 4, 12)):
        await scene.sweep_on(day)

    assert await scene.reminders() == [
        ("EXPIRING_SOON", 14, "2027-03-27"),
        ("EXPIRING_SOON", 2, "2027-04-08"),
        ("EXPIRED", None, "2027-04-11"),
    ]


async def test_instances_racing_send_each_reminder_exactly_once(
    scene: Scene, database_url: str
) -> None:
    for holder in ("employee", "acme_worker", "bolt_worker"):
        await scene.credential(holder)
    instances = [Database(database_url) for _ in range(3)]
    scene.clock.set_day(date(2027, 4, 12))
    try:
        results = await asyncio.gather(*(run_sweep(db, scene.clock) for db in instances))
    finally:
        for instance in instances:
            await instance.dispose()

    assert sum(r.reminders_sent for r in results) == 15
    assert sum(r.days_swept for r in results) == 42  # March 2 to April 12, each once
    async with scene.database.read(unscoped()) as session:
        sent = list(await session.scalars(select(ExpiryReminder)))
    assert len(sent) == 15
    assert len(await scene.reminders()) == 15


async def test_the_sweep_looks_expiry_dates_up_in_the_index(
    backend: str, database: Database
) -> None:
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans by statistics")
    statement = select_reminder_candidates({date(2027, 4, 10), date(2027, 5, 10)})
    async with database.read(unscoped()) as session:
        connection = await session.connection()
        compiled = statement.compile(connection.engine, compile_kwargs={"literal_binds": True})
        plan = [
            row[-1] for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        ]

    # The versions themselves (not the alias of the "superseded" subquery) are looked up
    # by status and expiry date, never scanned.
    [versions] = [step for step in plan if step.split()[1:2] == ["credential_versions"]]
    assert versions.startswith("SEARCH credential_versions USING INDEX"), plan
    assert "expiry_date=?" in versions, plan


class _StopsMidSweep:
    """A clock that stops the sweep at its second reading: after the day is claimed, before
    its reminders are written, as a SIGTERM's cancellation or a crash would."""

    def __init__(self, day: date) -> None:
        self.now = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        if self.readings == 2:
            raise asyncio.CancelledError("stopped mid-sweep")
        return self.now


async def test_a_sweep_stopped_mid_day_releases_the_claim_and_leaves_the_day_to_sweep(
    scene: Scene,
) -> None:
    await scene.credential()
    with pytest.raises(asyncio.CancelledError):
        await run_sweep(scene.database, _StopsMidSweep(date(2027, 3, 11)))

    sent = await scene.sweep_on(date(2027, 3, 11))

    assert sent == 1
    assert await scene.reminders() == [EXPECTED[0]]
