"""A manager's digest: what is expiring, newly expired, waiting for approval and not
compliant, among only the people that manager may see, with field permissions applied."""

from __future__ import annotations

from datetime import date

import pytest

from models.notification import DigestFrequency
from models.tenancy import scoped_to, unscoped
from server.database import Database
from services.identity import viewer_of_user
from services.notifications.digest import Digest, DigestSection, build_digest
from services.notifications.digest_email import render_digest
from services.notifications.digest_schedule import period_start
from tests.conftest import GraphQLClient
from tests.notifications.digest_setup import seed_digest_world
from tests.world import World

DAY = date(2027, 3, 10)


@pytest.fixture
async def seeded(graphql: GraphQLClient, database: Database, world: World) -> None:
    await seed_digest_world(database, world, graphql, DAY)


async def _digest_of(
    database: Database, world: World, role: str, period: DigestFrequency = DigestFrequency.DAILY
) -> Digest:
    async with database.read(unscoped()) as session:
        viewer = await viewer_of_user(session, world.user_ids[role])
    async with database.read(scoped_to(viewer.organization_id)) as session:
        return await build_digest(session, viewer, DAY, period)


def _lines(section: DigestSection) -> list[tuple[str, str, str | None]]:
    return [(line.holder_name, line.type_name, line.credential_number) for line in section.lines]


@pytest.mark.usefixtures("seeded")
async def test_a_credentials_manager_hears_of_everyone_with_numbers(
    database: Database, world: World
) -> None:
    digest = await _digest_of(database, world, "credentials_manager")

    assert _lines(digest.expiring) == [("Acme Worker", "Crane licence", "CR-ACME")]
    assert _lines(digest.newly_expired) == [("Bolt Worker", "Crane licence", "CR-BOLT")]
    assert _lines(digest.pending) == [("Employee", "First aid", "FA-EMP")]
    assert sorted((p.person_name, p.role_name) for p in digest.not_compliant) == [
        ("Bolt Worker", "Rigger"),
        ("Employee", "Rigger"),
    ]
    assert digest.counts() == {"expiring": 1, "newlyExpired": 1, "pending": 1, "notCompliant": 2}


@pytest.mark.usefixtures("seeded")
async def test_a_company_manager_hears_of_their_company_only(
    database: Database, world: World
) -> None:
    digest = await _digest_of(database, world, "company_manager")

    assert _lines(digest.expiring) == [("Acme Worker", "Crane licence", "CR-ACME")]
    assert digest.counts() == {"expiring": 1, "newlyExpired": 0, "pending": 0, "notCompliant": 0}


@pytest.mark.usefixtures("seeded")
async def test_a_key_contact_reads_no_credential_numbers(database: Database, world: World) -> None:
    digest = await _digest_of(database, world, "bolt_contact")
    email = render_digest(digest, lambda credential_id: f"https://x.example/c/{credential_id}")

    assert _lines(digest.newly_expired) == [("Bolt Worker", "Crane licence", None)]
    assert [(p.person_name, p.role_name) for p in digest.not_compliant] == [
        ("Bolt Worker", "Rigger")
    ]
    assert digest.counts() == {"expiring": 0, "newlyExpired": 1, "pending": 0, "notCompliant": 1}
    assert "CR-BOLT" not in email.text
    assert "CR-BOLT" not in email.html
    assert email.subject == (
        "Daily credentials digest, 10 Mar 2027: 1 newly expired, 1 not compliant"
    )


@pytest.mark.usefixtures("seeded")
async def test_the_weekly_digest_counts_the_weeks_expiries(
    database: Database, world: World
) -> None:
    daily = await _digest_of(database, world, "credentials_manager", DigestFrequency.DAILY)
    weekly = await _digest_of(database, world, "credentials_manager", DigestFrequency.WEEKLY)

    assert daily.newly_expired.total == weekly.newly_expired.total == 1
    assert period_start(DigestFrequency.WEEKLY, DAY) == date(2027, 3, 8)  # that Monday
    assert period_start(DigestFrequency.DAILY, DAY) == DAY


async def test_the_email_escapes_names_and_links_each_credential(
    database: Database, world: World, seeded: None
) -> None:
    digest = await _digest_of(database, world, "credentials_manager")

    email = render_digest(digest, lambda credential_id: f"https://x.example/c/{credential_id}?a&b")

    line = digest.expiring.lines[0]
    assert f"https://x.example/c/{line.credential_id}?a&b" in email.text
    assert f'href="https://x.example/c/{line.credential_id}?a&amp;b"' in email.html
    assert "Acme Worker: Crane licence, no. CR-ACME, expiry date 20 Mar 2027" in email.text
