"""Reminders that became due after the day's sweep had run are sent by the next sweep,
once, at the most recent stage: whatever made them due (a late approval, a backdated entry,
an import, a restore, reminders turned back on, a new lead time, a reactivated holder).

Each of these was lost while the sweep only looked at the expiry dates falling due on the
day it swept."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from models.tenancy import unscoped
from models.user import User
from server.expiry_scheduler import run_sweep
from tests.csv_io.helpers import HEADER, import_csv
from tests.notifications.scene import ARCHIVE, SETTINGS, Scene, days_between

DAY = date(2027, 3, 10)
RESTORE = "mutation R($id: ID!) { restoreCredential(id: $id) { errors { code } } }"


async def test_a_credential_approved_after_the_days_sweep_is_reminded_at_the_next(
    scene: Scene,
) -> None:
    # Given the day's sweep has run
    await scene.sweep_on(DAY)
    # When a credential expiring in 7 days is submitted and approved later that day
    await scene.credential(expiry=DAY + timedelta(days=7))
    for day in days_between(DAY, DAY + timedelta(days=8)):
        await scene.sweep_on(day)

    # Then the next sweep sends the 7-day reminder, and the later stages follow
    assert await scene.reminders() == [
        ("EXPIRING_SOON", 7, "2027-03-10"),
        ("EXPIRING_SOON", 1, "2027-03-16"),
        ("EXPIRING_SOON", 0, "2027-03-17"),
        ("EXPIRED", None, "2027-03-18"),
    ]


async def test_one_approved_three_days_before_expiry_gets_the_7_day_stage_once(
    scene: Scene,
) -> None:
    await scene.sweep_on(DAY)
    await scene.credential(expiry=DAY + timedelta(days=3))

    sent = await scene.sweep_on(DAY)
    again = await scene.sweep_on(DAY + timedelta(days=1))

    # Not a burst of the 30-, 7- and 1-day stages: the most recent one that has arrived
    assert (sent, again) == (1, 0)
    assert await scene.reminders() == [("EXPIRING_SOON", 7, "2027-03-10")]


async def test_a_credential_entered_after_it_expired_gets_expired_once(scene: Scene) -> None:
    await scene.sweep_on(DAY)
    await scene.credential(expiry=DAY - timedelta(days=1))

    await scene.sweep_on(DAY)
    await scene.sweep_on(DAY + timedelta(days=1))

    assert await scene.reminders() == [("EXPIRED", None, "2027-03-10")]


async def test_one_expired_beyond_the_window_is_history_not_a_reminder(scene: Scene) -> None:
    await scene.credential(expiry=DAY - timedelta(days=31))

    assert await scene.sweep_on(DAY) == 0


async def test_rows_imported_with_approve_all_after_the_sweep_are_reminded(
    scene: Scene,
) -> None:
    # Given the day's sweep has run and a type the register names
    await scene.sweep_on(DAY)
    admin = scene.world.token("admin")
    await scene.credential(holder="acme_worker", expiry=date(2030, 1, 1))  # creates a type
    type_name = f"Licence {date(2030, 1, 1)} acme_worker"
    csv = HEADER + "".join(
        f"{holder}@example.com,{type_name},2024-01-01,{expiry.isoformat()},\n"
        for holder, expiry in (
            ("employee", DAY + timedelta(days=7)),
            ("bolt_worker", DAY - timedelta(days=1)),
        )
    )
    # When an import approves rows expiring in 7 days and yesterday
    payload = await import_csv(scene.client, admin, csv, approve_all=True)
    assert payload["job"]["status"] == "SUCCEEDED", payload

    # Then the next sweep reminds both holders
    assert await scene.sweep_on(DAY) == 2
    assert sorted(await scene.reminders()) == [
        ("EXPIRED", None, "2027-03-10"),
        ("EXPIRING_SOON", 7, "2027-03-10"),
    ]


async def test_a_restored_credential_is_reminded_of_the_stage_it_reached_while_archived(
    scene: Scene,
) -> None:
    credential_id = await scene.credential(expiry=DAY + timedelta(days=20))
    admin = scene.world.token("admin")
    body = await scene.client.execute(ARCHIVE, {"id": credential_id}, token=admin)
    assert body["data"]["archiveCredential"]["errors"] == []
    for day in days_between(DAY, DAY + timedelta(days=14)):
        await scene.sweep_on(day)
    assert await scene.reminders() == []

    body = await scene.client.execute(RESTORE, {"id": credential_id}, token=admin)
    assert body["data"]["restoreCredential"]["errors"] == []
    await scene.sweep_on(DAY + timedelta(days=14))

    assert await scene.reminders() == [("EXPIRING_SOON", 7, "2027-03-24")]


async def test_reminders_turned_back_on_bring_the_current_stage(scene: Scene) -> None:
    employee = scene.world.token("employee")
    await scene.credential(expiry=DAY + timedelta(days=20))
    await scene.client.execute(SETTINGS, {"input": {"expiryReminders": False}}, token=employee)
    for day in days_between(DAY, DAY + timedelta(days=15)):
        await scene.sweep_on(day)

    await scene.client.execute(SETTINGS, {"input": {"expiryReminders": True}}, token=employee)
    await scene.sweep_on(DAY + timedelta(days=15))

    assert await scene.reminders() == [("EXPIRING_SOON", 7, "2027-03-25")]


async def test_a_lead_time_added_after_its_day_is_sent_at_the_next_sweep(scene: Scene) -> None:
    employee = scene.world.token("employee")
    await scene.credential(expiry=DAY + timedelta(days=40))
    for day in days_between(DAY, DAY + timedelta(days=30)):  # the 30-day stage on day 10
        await scene.sweep_on(day)

    # Ten days before expiry the holder adds a 14-day reminder
    body = await scene.client.execute(
        SETTINGS, {"input": {"leadTimesDays": [30, 14, 7]}}, token=employee
    )
    assert body["data"]["updateNotificationSettings"]["errors"] == []
    await scene.sweep_on(DAY + timedelta(days=30))
    await scene.sweep_on(DAY + timedelta(days=31))

    assert await scene.reminders() == [
        ("EXPIRING_SOON", 30, "2027-03-20"),
        ("EXPIRING_SOON", 14, "2027-04-09"),
    ]


async def test_a_longer_lead_time_than_the_defaults_looks_further_ahead(scene: Scene) -> None:
    employee = scene.world.token("employee")
    await scene.client.execute(SETTINGS, {"input": {"leadTimesDays": [90]}}, token=employee)
    await scene.credential(expiry=DAY + timedelta(days=80))

    assert await scene.sweep_on(DAY) == 1
    assert await scene.reminders() == [("EXPIRING_SOON", 90, "2027-03-10")]


async def test_a_reactivated_holder_is_reminded_of_the_stage_reached_while_inactive(
    scene: Scene,
) -> None:
    await scene.credential(expiry=DAY + timedelta(days=20))
    await _set_active(scene, "employee", False)
    for day in days_between(DAY, DAY + timedelta(days=15)):
        await scene.sweep_on(day)
    assert await scene.reminders() == []

    await _set_active(scene, "employee", True)
    await scene.sweep_on(DAY + timedelta(days=15))

    assert await scene.reminders() == [("EXPIRING_SOON", 7, "2027-03-25")]


async def test_a_dry_run_says_what_is_due_and_sends_nothing(scene: Scene) -> None:
    await scene.credential(expiry=DAY + timedelta(days=5))
    scene.clock.set_day(DAY)

    result = await run_sweep(scene.database, scene.clock, dry_run=True)

    assert [due.as_dict(DAY) for due in result.due] == [
        {
            "versionId": result.due[0].version_id,
            "holderId": scene.world.user_ids["employee"],
            "expiryDate": "2027-03-15",
            "kind": "EXPIRING_SOON",
            "leadDays": 7,
            "daysLeft": 5,
        }
    ]
    assert result.reminders_sent == 0
    assert await scene.reminders() == []
    assert await scene.sweep_on(DAY) == 1


async def _set_active(scene: Scene, role: str, active: bool) -> None:
    """Deactivation has no API yet: set it as an operator would in the database."""
    async with scene.database.transaction(unscoped()) as session:
        await session.execute(
            update(User).where(User.id == scene.world.user_ids[role]).values(is_active=active)
        )
