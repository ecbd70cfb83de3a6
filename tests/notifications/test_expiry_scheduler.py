"""The expiry sweep: each reminder once, at each lead time and on expiry, caught up after
downtime, never for archived credentials, superseded versions or holders who opted out,
and exactly once when instances race."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from models.reminder import ExpiryReminder, select_reminder_candidates
from models.tenancy import unscoped
from server.database import Database
from server.expiry_scheduler import run_sweep
from tests.credentials.factories import approve
from tests.notifications.scene import ADD_VERSION, ARCHIVE, SETTINGS, Scene, days_between

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

    for day in days_between(date(2027, 3, 2), date(2027, 4, 20)):
        await scene.sweep_on(day)
        await scene.sweep_on(day)  # a second run the same day finds nothing new

    assert await scene.reminders() == EXPECTED


async def test_after_downtime_only_the_most_recent_stage_is_sent_late_once(
    scene: Scene,
) -> None:
    await scene.credential()

    sent = await scene.sweep_on(date(2027, 4, 5))  # nothing ran since March 1
    again = await scene.sweep_on(date(2027, 4, 5))
    await scene.sweep_on(date(2027, 4, 12))  # and nothing from April 6 to 11

    assert (sent, again) == (1, 0)
    assert await scene.reminders() == [
        ("EXPIRING_SOON", 7, "2027-04-05"),
        ("EXPIRED", None, "2027-04-12"),
    ]


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

    for day in days_between(date(2027, 3, 2), date(2027, 4, 12)):
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

    assert sum(r.reminders_sent for r in results) == 3  # EXPIRED, once for each
    async with scene.database.read(unscoped()) as session:
        sent = list(await session.scalars(select(ExpiryReminder)))
    assert len(sent) == 3
    assert len(await scene.reminders()) == 3


async def test_the_sweep_looks_expiry_dates_up_in_the_index(
    backend: str, database: Database
) -> None:
    if backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans by statistics")
    statement = select_reminder_candidates(date(2027, 4, 10), date(2027, 5, 10))
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
    assert "expiry_date>? AND expiry_date<?" in versions, plan


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
