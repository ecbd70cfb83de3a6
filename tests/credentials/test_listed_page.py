"""A page of the credentials list answers each row's holder, type, latest version, media
count and expiry status from the page's own statement: the same answers, field for field,
as the credential read on its own through its loaders, for every viewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from models import Credential, CredentialMedia, CredentialVersion
from models.tenancy import unscoped
from server.database import Database
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import client_on
from tests.credentials.dashboard_setup import DAY, seed_dashboard
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import seeding
from tests.world import World

FIELDS = """
  id revision archived archivedAt createdAt updatedAt
  holder { id name email isActive createdAt company { id } }
  type {
    id name description issueDateRule expiryDateRule mediaRule defaultValidityMonths
    neverExpires createdAt updatedAt
  }
  latestVersion {
    id number issueDate expiryDate approvalStatus credentialNumber rejectionReason
    reviewedAt createdAt updatedAt mediaCount reviewedBy { id } submittedBy { id }
  }
  expiryStatus
  onToday: expiryStatus(onDate: $today)
  onLater: expiryStatus(onDate: $later)
"""
PAGE = f"""
query Page($today: Date!, $later: Date!) {{
  credentials(first: 100, filter: {{ archived: INCLUDE }}) {{ edges {{ node {{ {FIELDS} }} }} }}
}}
"""
ONE = f"""
query One($id: ID!, $today: Date!, $later: Date!) {{ credential(id: $id) {{ {FIELDS} }} }}
"""
UPDATE_SETTINGS = """
mutation Window($days: Int!) {
  updateCredentialSettings(input: { expiringSoonDays: $days }) { errors { code } }
}
"""
# Expires 12 days after DAY: expiring soon in the default 30-day window, not in 7 days.
EXPIRING = "acme forklift expiring"


async def _attach_files(database: Database, world: World, counts: dict[int, int]) -> None:
    """`counts[credential key]` files on that credential's latest version, in the north."""
    await _attach_files_in(database, world, "north", counts)


async def _attach_files_in(
    database: Database, world: World, organization: str, counts: dict[int, int]
) -> None:
    async with seeding(database, world, organization) as seed:
        for credential_id, count in counts.items():
            latest = await seed.session.scalar(
                select(CredentialVersion)
                .join(Credential, Credential.id == CredentialVersion.credential_id)
                .where(
                    Credential.id == credential_id,
                    CredentialVersion.number == Credential.latest_version_number,
                )
            )
            assert latest is not None
            for index in range(count):
                seed.session.add(
                    CredentialMedia(
                        credential_id=credential_id,
                        version_id=latest.id,
                        content_key=f"key-{credential_id}-{index}",
                        filename=f"scan-{index}.pdf",
                        content_type="application/pdf",
                        size=100,
                    )
                )


@pytest.mark.parametrize(
    ("window", "expiring_reads"),
    [(None, "EXPIRING_SOON"), (7, "VALID")],
    ids=["default window", "a 7-day window"],
)
@pytest.mark.parametrize("viewer", ["admin", "bolt_contact", "employee", "company_manager"])
async def test_each_row_of_a_page_reads_as_the_credential_read_on_its_own(
    settings: Settings,
    database: Database,
    world: World,
    viewer: str,
    window: int | None,
    expiring_reads: str,
) -> None:
    # given the dashboard's credentials, files on two of them, the organization's
    # expiring-soon window, and today is DAY
    dashboard = await seed_dashboard(database, world)
    await _attach_files(
        database,
        world,
        {dashboard.key(EXPIRING): 2, dashboard.key("admin forklift renewal pending"): 1},
    )
    clock = TestClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set_day(DAY)
    variables: dict[str, Any] = {
        "today": DAY.isoformat(),
        "later": (DAY + timedelta(days=200)).isoformat(),
    }
    async with client_on(settings, clock) as graphql:
        if window is not None:
            changed = await graphql.execute(
                UPDATE_SETTINGS, {"days": window}, world.token("credentials_manager")
            )
            assert changed["data"]["updateCredentialSettings"]["errors"] == []
        token = world.token(viewer)

        # when a page of the list is read, and each of its credentials on its own
        page = await graphql.execute(PAGE, variables, token)
        rows = [edge["node"] for edge in page["data"]["credentials"]["edges"]]
        alone = [
            (await graphql.execute(ONE, {**variables, "id": row["id"]}, token))["data"][
                "credential"
            ]
            for row in rows
        ]

    # then every row answers exactly as its credential read on its own
    assert "errors" not in page, page
    assert rows, "the viewer sees some credentials"
    assert rows == alone
    # and the page judged expiry with the organization's window, and counted the files
    by_key = {row["id"]: row for row in rows}
    expiring = by_key.get(global_id("Credential", dashboard.key(EXPIRING)))
    if expiring is not None:  # for the viewers who see it
        assert expiring["expiryStatus"] == expiring_reads
        assert expiring["latestVersion"]["mediaCount"] == 2


PAGE_OF_IDS = """
query Page($today: Date!) {
  credentials(first: 100, filter: { archived: INCLUDE }) {
    edges { node { id holder { id } type { id } latestVersion { mediaCount } expiryStatus
      onToday: expiryStatus(onDate: $today) } }
  }
}
"""


async def test_a_page_never_shows_another_organizations_rows_files_or_window(
    settings: Settings, database: Database, world: World
) -> None:
    # given north's dashboard (two files on the expiring credential) and, in the south, a
    # credential with three files and a window of a year, saved before north's 7 days
    dashboard = await seed_dashboard(database, world)
    await _attach_files(database, world, {dashboard.key(EXPIRING): 2})
    async with seeding(database, world, "south") as seed:
        south_type = await seed.credential_type("South licence")
        south_key = await seed.credential("south_worker", south_type)
    await _attach_files_in(database, world, "south", {south_key: 3})
    clock = TestClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set_day(DAY)
    async with client_on(settings, clock) as graphql:
        for role, days in (("south_admin", 365), ("credentials_manager", 7)):
            changed = await graphql.execute(UPDATE_SETTINGS, {"days": days}, world.token(role))
            assert changed["data"]["updateCredentialSettings"]["errors"] == []
        # when each organization's admin reads the page
        variables = {"today": DAY.isoformat()}
        north = await graphql.execute(PAGE_OF_IDS, variables, world.token("admin"))
        south = await graphql.execute(PAGE_OF_IDS, variables, world.token("south_admin"))

    # then each sees its own credentials only, with its own files and its own window
    north_rows = [edge["node"] for edge in north["data"]["credentials"]["edges"]]
    south_rows = [edge["node"] for edge in south["data"]["credentials"]["edges"]]
    async with database.read(unscoped()) as session:
        north_keys = set(
            await session.scalars(
                select(Credential.id).where(Credential.organization_id == world.north_id)
            )
        )
    assert {row["id"] for row in north_rows} == {global_id("Credential", k) for k in north_keys}
    assert [row["id"] for row in south_rows] == [global_id("Credential", south_key)]
    assert south_rows[0]["latestVersion"]["mediaCount"] == 3
    assert south_rows[0]["holder"]["id"] == global_id("User", world.user_ids["south_worker"])
    assert south_rows[0]["type"]["id"] == global_id("CredentialType", south_type)
    expiring = next(
        r for r in north_rows if r["id"] == global_id("Credential", dashboard.key(EXPIRING))
    )
    assert expiring["latestVersion"]["mediaCount"] == 2
    assert expiring["expiryStatus"] == expiring["onToday"] == "VALID"  # north's 7 days
    assert sum(row["latestVersion"]["mediaCount"] for row in north_rows) == 2
