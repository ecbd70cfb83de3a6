"""Managers' digests over a simulated week, judged on the test clock and delivered to a
real SMTP server: one per person and period, however often the scheduler runs and however
many instances race, each with only what that person may see."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from models.digest import DigestRun
from models.tenancy import unscoped
from server.database import Database
from server.expiry_scheduler import run_digests
from tests.delivery.mail_server import MailServer, Received
from tests.delivery.scene import PUBLIC_URL, START, Scene
from tests.notifications.digest_setup import seed_digest_world

MONDAY = START.date()
CHOOSE = """
mutation C($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) { errors { code field message } }
}
"""


async def _seed(scene: Scene) -> None:
    """The digest world of the week's Monday; the credentials manager and Acme's manager
    choose a daily digest, Bolt's key contact a weekly one."""
    world = scene.world
    await seed_digest_world(scene.database, world, scene.client, MONDAY)
    for person, digest in (
        ("credentials_manager", "DAILY"),
        ("company_manager", "DAILY"),
        ("bolt_contact", "WEEKLY"),
    ):
        body = await scene.client.execute(
            CHOOSE, {"input": {"digest": digest}}, token=world.token(person)
        )
        assert body["data"]["updateNotificationSettings"]["errors"] == [], body


def _digests(smtp: MailServer) -> list[Received]:
    """The digests received (the approvals of the seeding send emails of their own)."""
    return [r for r in smtp.handler.received if "digest" in str(r.message["Subject"])]


async def _scheduler_runs_on(scene: Scene, day: date, hour: int) -> None:
    scene.clock.now = datetime.combine(day, time(hour), tzinfo=START.tzinfo)
    await run_digests(scene.database, scene.clock, PUBLIC_URL)


async def test_a_simulated_week_sends_one_digest_per_person_and_period(
    scene: Scene, smtp: MailServer
) -> None:
    await _seed(scene)

    # When the scheduler runs three times a day for eight days, Monday to Monday, and the
    # delivery worker after each run
    for day in (MONDAY + timedelta(days=n) for n in range(8)):
        for hour in (6, 12, 18):
            await _scheduler_runs_on(scene, day, hour)
            await scene.deliver(smtp.url())

    # Then each daily digest came once a day, the weekly one once each Monday
    received = _digests(smtp)
    by_recipient = Counter(r.recipients[0] for r in received)
    assert by_recipient == {
        "credentials_manager@example.com": 8,
        "company_manager@example.com": 8,
        "bolt_contact@example.com": 2,
    }
    assert len({r.message_id for r in received}) == len(received)
    weekly = [r for r in received if r.recipients == ["bolt_contact@example.com"]]
    assert [str(r.message["Subject"]) for r in weekly] == [
        "Weekly credentials digest, 7 Dec 2026: 1 newly expired, 1 not compliant",
        "Weekly credentials digest, 14 Dec 2026: 1 not compliant",
    ]
    # and the key contact never reads a credential number
    for item in weekly:
        assert "CR-BOLT" not in item.body("plain")
        assert "CR-BOLT" not in item.body("html")
    first = next(r for r in received if r.recipients == ["credentials_manager@example.com"])
    assert str(first.message["Subject"]) == (
        "Daily credentials digest, 7 Dec 2026: 1 expiring, 1 newly expired, "
        "1 waiting for approval, 2 not compliant"
    )
    assert "Acme Worker: Crane licence, no. CR-ACME, expiry date 17 Dec 2026" in first.body("plain")
    assert f"{PUBLIC_URL}/credentials/" in first.body("plain")


async def test_an_empty_digest_is_recorded_not_sent(scene: Scene, smtp: MailServer) -> None:
    body = await scene.client.execute(
        CHOOSE, {"input": {"digest": "DAILY"}}, token=scene.world.token("company_manager")
    )
    assert body["data"]["updateNotificationSettings"]["errors"] == []

    await _scheduler_runs_on(scene, MONDAY, 9)
    await _scheduler_runs_on(scene, MONDAY, 10)
    await scene.deliver(smtp.url())

    assert smtp.handler.received == []
    async with scene.database.read(unscoped()) as session:
        runs = list(await session.scalars(select(DigestRun)))
    assert [(run.period, run.period_start, run.sent) for run in runs] == [("DAILY", MONDAY, False)]
    assert runs[0].counts == {"expiring": 0, "newlyExpired": 0, "pending": 0, "notCompliant": 0}


async def test_instances_racing_queue_each_digest_once(
    scene: Scene, smtp: MailServer, database_url: str
) -> None:
    await _seed(scene)
    scene.clock.now = datetime.combine(MONDAY, time(9), tzinfo=START.tzinfo)
    instances = [Database(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(
            *(run_digests(instance, scene.clock, PUBLIC_URL) for instance in instances)
        )
    finally:
        for instance in instances:
            await instance.dispose()
    await scene.deliver(smtp.url())

    assert sum(result.queued for result in results) == 3
    assert sorted(r.recipients[0] for r in _digests(smtp)) == [
        "bolt_contact@example.com",
        "company_manager@example.com",
        "credentials_manager@example.com",
    ]


@pytest.mark.parametrize("choice", ["DAILY", "WEEKLY"])
async def test_a_dry_run_names_the_digests_due_and_queues_none(
    scene: Scene, smtp: MailServer, choice: str
) -> None:
    await _seed(scene)
    body = await scene.client.execute(
        CHOOSE, {"input": {"digest": choice}}, token=scene.world.token("users_manager")
    )
    assert body["data"]["updateNotificationSettings"]["errors"] == []
    scene.clock.now = datetime.combine(MONDAY, time(9), tzinfo=START.tzinfo)

    result = await run_digests(scene.database, scene.clock, PUBLIC_URL, dry_run=True)

    assert sorted(d.user_id for d in result.due) == sorted(
        scene.world.user_ids[p]
        for p in ("credentials_manager", "company_manager", "bolt_contact", "users_manager")
    )
    assert result.queued == 0
    await scene.deliver(smtp.url())
    assert _digests(smtp) == []
