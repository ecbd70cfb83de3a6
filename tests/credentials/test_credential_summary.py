"""The credentials' summaries follow every write of their versions, and the status the
overview and the list's filter read from them is the list's rule on any day.

Histories are generated (a seeded random, so every run tries the same ones): versions of
every approval status with issue and expiry dates drawn from a few close days, missing
ones included, so that renewals overlap, lapse, outlast one another and start in the
future. They are written as the CSV import writes them (Core, many rows at once), then
updated and deleted row by row; the lifecycle's own writes go through the API."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from models.credential import ApprovalStatus, Credential, CredentialVersion
from models.credential_filter import ExpiryWindow, counted_expiry_status
from models.credential_settings import DEFAULT_EXPIRING_SOON_DAYS as EXPIRING_SOON_DAYS
from models.credential_type import CredentialType, FieldRule
from models.tenancy import scoped_to
from server.database import Database
from services.credentials.dates import expiry_status, version_that_counts
from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type, local_key
from tests.credentials.summary_check import assert_summaries_hold, days_around, load_histories
from tests.csv_io.helpers import HEADER, import_csv
from tests.world import World

BASE = date(2026, 11, 28)
POOL = [None, *(BASE + timedelta(days=30 * k) for k in range(-4, 5))]
TYPES = 30
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _version_row(
    rng: random.Random, organization_id: int, credential_id: int, number: int
) -> dict[str, Any]:
    issue, expiry = rng.choice(POOL), rng.choice(POOL)
    return {
        "organization_id": organization_id,
        "credential_id": credential_id,
        "number": number,
        "issue_date": issue,
        "expiry_date": expiry,
        "approval_status": rng.choice(list(ApprovalStatus)),
        "created_at": NOW,
        "updated_at": NOW,
    }


async def _seed_histories(database: Database, world: World, rng: random.Random) -> None:
    """A credential of every type for every person of the organization, 1 to 5 versions
    each, inserted in bulk: credentials first, then all versions (as the import does)."""
    org = world.north_id
    async with database.transaction(scoped_to(org)) as session:
        session.add_all(
            CredentialType(
                name=f"Licence {n}",
                issue_date_rule=FieldRule.OPTIONAL,
                expiry_date_rule=FieldRule.OPTIONAL,
                media_rule=FieldRule.OPTIONAL,
            )
            for n in range(TYPES)
        )
        await session.flush()
        type_ids = list(await session.scalars(select(CredentialType.id)))
        holders = [world.user_ids[r] for r in ("acme_worker", "bolt_worker", "employee")]
        connection = await session.connection()
        credentials = [
            {
                "organization_id": org,
                "type_id": t,
                "holder_id": h,
                "latest_version_number": rng.randint(1, 5),
                "revision": 1,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for t in type_ids
            for h in holders
        ]
        await connection.execute(insert(Credential.__table__), credentials)  # type: ignore[arg-type]
        rows = (
            await connection.execute(select(Credential.id, Credential.latest_version_number))
        ).all()
        versions = [
            _version_row(rng, org, credential_id, number)
            for credential_id, latest in rows
            for number in range(1, latest + 1)
        ]
        await connection.execute(insert(CredentialVersion.__table__), versions)  # type: ignore[arg-type]


async def _rewrite_some_versions(database: Database, org: int, rng: random.Random) -> None:
    """Row by row: new statuses and dates for some versions, some versions deleted, some
    added after the latest."""
    async with database.transaction(scoped_to(org)) as session:
        versions = list(
            await session.execute(
                select(
                    CredentialVersion.id, CredentialVersion.credential_id, CredentialVersion.number
                )
            )
        )
        for version_id, _, _ in rng.sample(versions, len(versions) // 3):
            changes: dict[str, Any] = rng.choice(
                [
                    {"approval_status": rng.choice(list(ApprovalStatus))},
                    {"issue_date": rng.choice(POOL)},
                    {"expiry_date": rng.choice(POOL)},
                    {"credential_number": "unrelated"},
                ]
            )
            await session.execute(
                update(CredentialVersion)
                .where(CredentialVersion.id == version_id)
                .values(**changes)
            )
        remaining: dict[int, int] = {}
        for _, credential_id, _ in versions:
            remaining[credential_id] = remaining.get(credential_id, 0) + 1
        for version_id, credential_id, _ in rng.sample(versions, len(versions) // 10):
            if remaining[credential_id] > 1:  # a credential always has a version
                remaining[credential_id] -= 1
                await session.execute(
                    delete(CredentialVersion).where(CredentialVersion.id == version_id)
                )
        latest: dict[int, int] = {}
        for _, credential_id, number in versions:
            latest[credential_id] = max(latest.get(credential_id, 0), number)
        connection = await session.connection()
        for credential_id in rng.sample(sorted(latest), len(latest) // 4):
            row = _version_row(rng, org, credential_id, latest[credential_id] + 1)
            await connection.execute(insert(CredentialVersion.__table__), row)  # type: ignore[arg-type]


async def test_summaries_follow_bulk_inserts_updates_and_deletes_of_versions(
    database: Database, world: World
) -> None:
    # given generated histories inserted in bulk
    rng = random.Random(7)
    await _seed_histories(database, world, rng)
    # then every summary is what the versions say, and holds on every day it claims to
    assert await assert_summaries_hold(database, world.north_id) == 3 * TYPES
    # and when versions are changed, deleted and added one by one, it still does
    for _ in range(3):
        await _rewrite_some_versions(database, world.north_id, rng)
        assert await assert_summaries_hold(database, world.north_id) == 3 * TYPES


async def test_the_counted_status_is_the_lists_rule_on_any_day(
    database: Database, world: World
) -> None:
    # given generated histories, some of which no summary settles for a day
    rng = random.Random(11)
    await _seed_histories(database, world, rng)
    await _rewrite_some_versions(database, world.north_id, rng)
    histories = await load_histories(database, world.north_id)
    unsettled = {key for key, (summary, _) in histories.items() if summary[1] is None}
    assert unsettled, "some histories should need their versions ranked"
    days = set().union(*(days_around(versions) for _, versions in histories.values()))
    for day in sorted(days):
        window = ExpiryWindow.starting(day, 30)
        # when the status is asked of SQL for that day
        async with database.read(scoped_to(world.north_id)) as session:
            found: dict[int, str] = dict(
                (await session.execute(select(Credential.id, counted_expiry_status(window)))).all()
            )
        # then it is the Python rule's, credential by credential
        expected = {
            key: status.value
            for key, (_, versions) in histories.items()
            if (status := expiry_status(version_that_counts(versions, day), day, 30)) is not None
        }
        assert {k: v for k, v in found.items() if k in expected} == expected, day


ADD_VERSION = """
mutation Add($input: AddCredentialVersionInput!) {
  addCredentialVersion(input: $input) { credential { id revision } errors { code } }
}
"""
EDIT_LATEST = """
mutation Edit($input: EditLatestCredentialVersionInput!) {
  editLatestCredentialVersion(input: $input) { credential { id revision } errors { code } }
}
"""
REJECT = """
mutation Reject($id: ID!) {
  rejectCredential(id: $id, reason: "Blurry") { credential { id revision } errors { code } }
}
"""
ARCHIVE = (
    "mutation A($id: ID!) { archiveCredential(id: $id) { credential { id } errors { code } } }"
)
RESTORE = (
    "mutation R($id: ID!) { restoreCredential(id: $id) { credential { id } errors { code } } }"
)


async def _summary(database: Database, org: int, credential_id: str) -> tuple[Any, ...]:
    async with database.read(scoped_to(org)) as session:
        row = (
            await session.execute(
                select(
                    Credential.latest_approval_status,
                    Credential.counting_from,
                    Credential.counting_expiry_date,
                ).where(Credential.id == local_key(credential_id))
            )
        ).one()
    return tuple(row)


async def test_summaries_follow_every_step_of_the_lifecycle_and_the_import(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    admin, org = world.token("admin"), world.north_id
    type_id = await create_type(graphql, admin, name="Forklift")

    async def run(query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        body = await graphql.execute(query, variables, token=admin)
        payload: dict[str, Any] = body["data"][field]
        assert payload["errors"] == [], payload
        return payload

    async def revision(credential_id: str) -> int:
        body = await graphql.execute(
            "query R($id: ID!) { credential(id: $id) { revision } }",
            {"id": credential_id},
            token=admin,
        )
        return int(body["data"]["credential"]["revision"])

    # given a submitted credential (pending review)
    created = await create_credential(
        graphql, admin, type_id, world.user_ids["acme_worker"],
        issueDate="2024-01-01", expiryDate="2027-01-01",
    )  # fmt: skip
    cid = created["id"]
    steps: list[tuple[str, tuple[Any, ...]]] = []
    steps.append(("submitted", await _summary(database, org, cid)))
    # when it is approved, renewed, edited, rejected, renewed and approved, archived, restored
    await approve(graphql, admin, cid)
    steps.append(("approved", await _summary(database, org, cid)))
    renewal = {"credentialId": cid, "issueDate": "2026-12-20", "expiryDate": "2029-12-20"}
    await run(ADD_VERSION, {"input": renewal}, "addCredentialVersion")
    steps.append(("renewal pending", await _summary(database, org, cid)))
    edit = {
        "credentialId": cid,
        "expectedRevision": await revision(cid),
        "expiryDate": "2030-01-10",
    }
    await run(EDIT_LATEST, {"input": edit}, "editLatestCredentialVersion")
    steps.append(("renewal edited", await _summary(database, org, cid)))
    await run(REJECT, {"id": cid}, "rejectCredential")
    steps.append(("renewal rejected", await _summary(database, org, cid)))
    await run(ADD_VERSION, {"input": renewal}, "addCredentialVersion")
    await approve(graphql, admin, cid)
    steps.append(("second renewal approved", await _summary(database, org, cid)))
    await run(ARCHIVE, {"id": cid}, "archiveCredential")
    steps.append(("archived", await _summary(database, org, cid)))
    await run(RESTORE, {"id": cid}, "restoreCredential")
    steps.append(("restored", await _summary(database, org, cid)))
    # then each step left the summary the rule gives (checked against every day) ...
    await assert_summaries_hold(database, org)
    every_day = date.min
    pending, approved, rejected = (
        ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.REJECTED,
    )  # fmt: skip
    assert steps == [
        ("submitted", (pending, every_day, date(2027, 1, 1))),
        ("approved", (approved, every_day, date(2027, 1, 1))),
        ("renewal pending", (pending, every_day, date(2027, 1, 1))),
        ("renewal edited", (pending, every_day, date(2027, 1, 1))),
        ("renewal rejected", (rejected, every_day, date(2027, 1, 1))),
        # two approved versions: the renewal counts from its issue date on
        ("second renewal approved", (approved, date(2026, 12, 20), date(2029, 12, 20))),
        ("archived", (approved, date(2026, 12, 20), date(2029, 12, 20))),
        ("restored", (approved, date(2026, 12, 20), date(2029, 12, 20))),
    ]
    # and an import, of a new credential and of a renewal, leaves them right too
    await create_type(graphql, admin, name="Crane")
    await import_csv(
        graphql, admin,
        HEADER
        + "acme_worker@example.com,Crane,2026-01-10,2029-01-10,C-1\n"
        + "acme_worker@example.com,Forklift,2027-06-01,2030-06-01,F-2\n",
        approve_all=True,
    )  # fmt: skip
    assert await assert_summaries_hold(database, org) == 2
    assert await _summary(database, org, cid) == (approved, date(2027, 6, 1), date(2030, 6, 1))


OVERVIEW = """
query Overview($on: Date, $archived: ArchivedFilter) {
  credentialOverview(filter: {onDate: $on, archived: $archived}) {
    counts { total pendingApproval valid expiringSoon expired noExpiry archived }
  }
}
"""
COUNT_OF_STATUS = {"VALID": "valid", "EXPIRING_SOON": "expiringSoon", "EXPIRED": "expired"}


@pytest.mark.parametrize("archived_filter", ["EXCLUDE", "ONLY", "INCLUDE"])
async def test_the_overview_counts_generated_histories_by_the_lists_rule_on_any_day(
    graphql: GraphQLClient, database: Database, world: World, archived_filter: str
) -> None:
    # given generated histories, a few of them archived
    rng = random.Random(13)
    await _seed_histories(database, world, rng)
    await _rewrite_some_versions(database, world.north_id, rng)
    async with database.transaction(scoped_to(world.north_id)) as session:
        await session.execute(
            update(Credential).where(Credential.id % 7 == 0).values(archived_at=NOW)
        )
        archived = set(await session.scalars(select(Credential.id).where(Credential.id % 7 == 0)))
    histories = await load_histories(database, world.north_id)
    included = {
        key
        for key in histories
        if archived_filter == "INCLUDE" or (key in archived) == (archived_filter == "ONLY")
    }
    days = sorted(set().union(*(days_around(v) for _, v in histories.values())))
    for day in [date.min, *rng.sample(days, 8), date.max]:
        # when an admin reads the overview as of that day
        variables = {"on": day.isoformat(), "archived": archived_filter}
        body = await graphql.execute(OVERVIEW, variables, token=world.token("admin"))
        # then each count is the Python rule's over the included credentials' versions
        expected = dict.fromkeys(
            ("total", "pendingApproval", "valid", "expiringSoon", "expired", "noExpiry"), 0
        )
        for key in included:
            versions = histories[key][1]
            status = expiry_status(version_that_counts(versions, day), day, EXPIRING_SOON_DAYS)
            assert status is not None
            expected["total"] += 1
            expected[COUNT_OF_STATUS.get(status.value, "noExpiry")] += 1
            latest = max(versions, key=lambda v: v.number)
            expected["pendingApproval"] += latest.approval_status is ApprovalStatus.PENDING
        # and the archived count is of every archived credential, whatever the setting
        expected["archived"] = len(archived)
        assert body["data"]["credentialOverview"]["counts"] == expected, day
