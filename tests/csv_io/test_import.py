"""importCredentials through HTTP multipart as a client sends it: the row report with the
messages users know, dry runs, both error policies, re-imports, approveAll, permissions
and broken files."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models.credential import Credential, CredentialVersion
from models.credential_type import CredentialType
from models.event import CredentialEvent
from models.tenancy import unscoped
from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.factories import create_type
from tests.csv_io.helpers import HEADER, import_csv, upload
from tests.world import World

CREDENTIALS = """
query { credentials(first: 100) { edges { node {
  holder { name } type { name } latestVersion { number issueDate expiryDate credentialNumber
  approvalStatus } } } } }
"""
JOB = """
query Job($id: ID!) { importJob(id: $id) { status failedCount results { rowNumber code } } }
"""


async def _credentials(graphql: GraphQLClient, world: World) -> list[dict[str, Any]]:
    body = await graphql.execute(CREDENTIALS, token=world.token("admin"))
    return [edge["node"] for edge in body["data"]["credentials"]["edges"]]


@pytest.fixture
async def first_aid(graphql: GraphQLClient, world: World) -> str:
    return await create_type(graphql, world.token("admin"), name="First Aid")


GOOD = HEADER + (
    "acme_worker@example.com,first aid,2026-01-10,2029-01-10,FA-1\n"
    "BOLT_WORKER@example.com, First Aid ,2026-02-01,2029-02-01,FA-2\n"
)


async def test_a_good_file_creates_pending_credentials(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    # Given a file of two rows, emails and type names in other cases
    # When an admin imports it for real
    payload = await import_csv(graphql, world.token("admin"), GOOD)
    # Then the job succeeded with two new credentials, pending review
    job = payload["job"]
    assert (job["status"], job["createdCount"], job["failedCount"]) == ("SUCCEEDED", 2, 0)
    found = await _credentials(graphql, world)
    assert sorted(c["latestVersion"]["credentialNumber"] for c in found) == ["FA-1", "FA-2"]
    assert {c["latestVersion"]["approvalStatus"] for c in found} == {"PENDING"}


BAD_ROWS = [
    (
        "nobody@example.com,First Aid,2026-01-10,2029-01-10,X",
        "Holder email",
        "USER_NOT_FOUND",
        "User doesn't exist.",
    ),
    (
        "inactive@example.com,First Aid,2026-01-10,2029-01-10,X",
        "Holder email",
        "USER_NOT_FOUND",
        "User doesn't exist.",
    ),
    (
        "south_worker@example.com,First Aid,2026-01-10,2029-01-10,X",
        "Holder email",
        "USER_NOT_FOUND",
        "User doesn't exist.",
    ),
    (
        "employee@example.com,Forklift,2026-01-10,2029-01-10,X",
        "Credential type",
        "TYPE_NOT_FOUND",
        "Credential type doesn't exist.",
    ),
    (
        "employee@example.com,First Aid,10/01/2026,2029-01-10,X",
        "Issue date",
        "INVALID_DATE",
        "Invalid date format: use YYYY-MM-DD.",
    ),
    (
        "employee@example.com,First Aid,2026-01-10,2025-01-10,X",
        "Expiry date",
        "EXPIRY_BEFORE_ISSUE",
        "Expiration date is earlier than issue date.",
    ),
    (",First Aid,2026-01-10,2029-01-10,X", "Holder email", "REQUIRED", "Holder email is required."),
]


@pytest.mark.parametrize(("row", "column", "code", "message"), BAD_ROWS)
async def test_each_bad_row_is_reported_and_nothing_is_written(
    graphql: GraphQLClient,
    world: World,
    first_aid: str,
    row: str,
    column: str,
    code: str,
    message: str,
) -> None:
    # Given a good row followed by a bad one
    content = HEADER + "acme_worker@example.com,First Aid,2026-01-10,2029-01-10,OK\n" + row + "\n"
    # When it is imported under REJECT_EVERYTHING
    payload = await import_csv(graphql, world.token("admin"), content)
    # Then row 3 is reported with its column, code and message, and nothing was written
    job = payload["job"]
    assert job["status"] == "FAILED"
    assert job["results"] == [{"rowNumber": 3, "column": column, "code": code, "message": message}]
    assert await _credentials(graphql, world) == []


async def test_skip_failed_rows_imports_the_good_ones(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    content = GOOD + "nobody@example.com,First Aid,2026-01-10,2029-01-10,X\n"
    payload = await import_csv(graphql, world.token("admin"), content, policy="SKIP_FAILED_ROWS")
    job = payload["job"]
    assert (job["status"], job["createdCount"], job["failedCount"]) == ("PARTIALLY_SUCCEEDED", 2, 1)
    assert len(await _credentials(graphql, world)) == 2


async def test_a_dry_run_reports_the_same_and_writes_nothing(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    content = GOOD + "nobody@example.com,First Aid,2026-01-10,2029-01-10,X\n"
    dry = (await import_csv(graphql, world.token("admin"), content, dry_run=True))["job"]
    assert await _credentials(graphql, world) == []
    real = (await import_csv(graphql, world.token("admin"), content))["job"]
    assert dry["dryRun"]
    assert not real["dryRun"]
    keys = ("status", "rowsRead", "createdCount", "failedCount", "results")
    assert {k: dry[k] for k in keys} == {k: real[k] for k in keys}


async def test_duplicates_within_the_file_are_reported(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    content = GOOD + "acme_worker@example.com,FIRST AID,2027-01-10,2030-01-10,FA-9\n"
    job = (await import_csv(graphql, world.token("admin"), content))["job"]
    assert [(r["rowNumber"], r["code"]) for r in job["results"]] == [(4, "DUPLICATE_ROW")]


async def test_missing_required_columns_are_reported_on_the_header_row(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    content = "Holder email,Credential type\nacme_worker@example.com,First Aid\n"
    job = (await import_csv(graphql, world.token("admin"), content))["job"]
    assert job["status"] == "FAILED"
    assert [(r["rowNumber"], r["column"], r["code"]) for r in job["results"]] == [
        (1, "Issue date", "MISSING_COLUMN"),
        (1, "Expiry date", "MISSING_COLUMN"),
        (1, "Credential number", "MISSING_COLUMN"),
    ]


async def test_reimporting_changes_nothing_and_new_dates_make_a_version(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    # Given a file imported once
    await import_csv(graphql, world.token("admin"), GOOD)
    # When the same file is imported again
    again = (await import_csv(graphql, world.token("admin"), GOOD))["job"]
    # Then nothing is new
    assert (again["createdCount"], again["versionedCount"], again["unchangedCount"]) == (0, 0, 2)
    # And a row with new dates becomes the credential's second version
    renewed = HEADER + "acme_worker@example.com,First Aid,2029-01-10,2032-01-10,FA-1\n"
    job = (await import_csv(graphql, world.token("admin"), renewed))["job"]
    assert job["versionedCount"] == 1
    numbers = {
        c["latestVersion"]["credentialNumber"]: c["latestVersion"]["number"]
        for c in await _credentials(graphql, world)
    }
    assert numbers == {"FA-1": 2, "FA-2": 1}


@pytest.mark.parametrize(
    ("role", "approve_all", "expected"),
    [
        ("admin", True, "APPROVED"),
        ("users_manager", False, "PENDING"),
    ],
)
async def test_approve_all_approves_for_credential_managers(
    graphql: GraphQLClient,
    world: World,
    first_aid: str,
    role: str,
    approve_all: bool,
    expected: str,
) -> None:
    job = (await import_csv(graphql, world.token(role), GOOD, approve_all=approve_all))["job"]
    assert job["createdCount"] == 2
    assert {c["latestVersion"]["approvalStatus"] for c in await _credentials(graphql, world)} == {
        expected
    }


@pytest.mark.parametrize(
    ("role", "approve_all", "code"),
    [
        ("employee", False, "PERMISSION_DENIED"),
        ("credentials_manager", False, "PERMISSION_DENIED"),
        ("users_manager", True, "PERMISSION_DENIED"),
    ],
)
async def test_import_without_permission_is_refused(
    graphql: GraphQLClient, world: World, first_aid: str, role: str, approve_all: bool, code: str
) -> None:
    payload = await import_csv(graphql, world.token(role), GOOD, approve_all=approve_all)
    assert payload["job"] is None
    assert [e["code"] for e in payload["errors"]] == [code]
    assert await _credentials(graphql, world) == []


async def test_company_managers_import_for_their_workers_only(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    # acme_worker is managed by company_manager; bolt_worker is not
    job = (
        await import_csv(graphql, world.token("company_manager"), GOOD, policy="SKIP_FAILED_ROWS")
    )["job"]
    assert job["createdCount"] == 1
    assert [(r["rowNumber"], r["code"]) for r in job["results"]] == [(3, "USER_NOT_FOUND")]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NOT_CSV"),
        (b"", "NO_HEADER"),
        (
            HEADER.encode() + "employee@example.com,Première,2026-01-10,,\n".encode("latin-1"),
            "NOT_UTF8",
        ),
        (
            HEADER.encode()
            + b"employee@example.com,First Aid,2026-01-10,2029-01-10,"
            + b"x" * (10 * 1024 * 1024)
            + b"\n",
            "FIELD_TOO_LARGE",
        ),
    ],
    ids=["binary", "empty", "latin-1", "10 MB field"],
)
async def test_broken_files_get_a_clear_error(
    graphql: GraphQLClient, world: World, first_aid: str, content: bytes, code: str
) -> None:
    job = (await import_csv(graphql, world.token("admin"), content))["job"]
    assert job["status"] == "FAILED"
    assert [r["code"] for r in job["results"]] == [code]


@pytest.mark.parametrize(
    "content",
    [
        "\ufeff" + GOOD,
        GOOD.replace(",", ";"),
        GOOD.replace("\n", "\r\n"),
    ],
    ids=["BOM", "semicolons", "CRLF"],
)
async def test_bom_semicolons_and_crlf_are_read(
    graphql: GraphQLClient, world: World, first_aid: str, content: str
) -> None:
    job = (await import_csv(graphql, world.token("admin"), content))["job"]
    assert (job["status"], job["createdCount"]) == ("SUCCEEDED", 2)


async def test_multipart_without_a_preflight_header_is_refused(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    # A cross-site form can post multipart/form-data but cannot add custom headers
    response = await upload(graphql, world.token("admin"), GOOD, headers={})
    assert response.status_code == 400
    assert "X-Requested-With" in response.json()["errors"][0]["message"]
    # Nor does an empty one count
    response = await upload(graphql, world.token("admin"), GOOD, headers={"X-Requested-With": ""})
    assert response.status_code == 400
    assert await _credentials(graphql, world) == []


@pytest.mark.parametrize(
    "header", ["X-Requested-With", "Apollo-Require-Preflight", "GraphQL-Preflight"]
)
async def test_any_preflight_header_lets_an_upload_through(
    graphql: GraphQLClient, world: World, first_aid: str, header: str
) -> None:
    response = await upload(graphql, world.token("admin"), GOOD, headers={header: "1"})
    assert response.status_code == 200
    assert response.json()["data"]["importCredentials"]["job"]["createdCount"] == 2


async def test_the_job_is_readable_by_its_starter_only(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    job = (await import_csv(graphql, world.token("admin"), GOOD))["job"]
    mine = await graphql.execute(JOB, {"id": job["id"]}, token=world.token("admin"))
    assert mine["data"]["importJob"]["status"] == "SUCCEEDED"
    other = await graphql.execute(JOB, {"id": job["id"]}, token=world.token("users_manager"))
    assert other["data"]["importJob"] is None


async def test_import_jobs_and_their_rows_are_counted_in_the_metrics(
    graphql: GraphQLClient, world: World, first_aid: str
) -> None:
    bad_row = "nobody@example.com,First Aid,2026-01-10,2029-01-10,FA-9\n"
    await import_csv(graphql, world.token("admin"), GOOD, dry_run=True)
    await import_csv(graphql, world.token("admin"), GOOD)
    await import_csv(graphql, world.token("admin"), GOOD + bad_row)  # all or nothing: fails

    metrics = set((await graphql.http.get("/metrics")).text.splitlines())

    assert {
        'credential_import_jobs_total{dry_run="true",outcome="succeeded"} 1.0',
        'credential_import_jobs_total{dry_run="false",outcome="succeeded"} 1.0',
        'credential_import_jobs_total{dry_run="false",outcome="failed"} 1.0',
        'credential_import_rows_total{result="created"} 4.0',
        'credential_import_rows_total{result="unchanged"} 2.0',
        'credential_import_rows_total{result="failed"} 1.0',
    } <= metrics


async def test_imports_log_their_events_in_order(
    graphql: GraphQLClient, world: World, database: Database, first_aid: str
) -> None:
    # Given a file imported with approveAll, then a renewal of one of its rows
    await import_csv(graphql, world.token("admin"), GOOD, approve_all=True)
    renewed = HEADER + "acme_worker@example.com,First Aid,2029-01-10,2032-01-10,FA-1\n"
    await import_csv(graphql, world.token("admin"), renewed)
    # When the event log of the type is read in id order, with each event's version
    async with database.read(unscoped()) as session:
        rows = await session.execute(
            select(
                CredentialEvent.kind,
                CredentialVersion.credential_number,
                CredentialVersion.number,
                CredentialEvent.actor_id,
                CredentialEvent.holder_id == Credential.holder_id,
                CredentialEvent.type_id == Credential.type_id,
            )
            .join(Credential, Credential.id == CredentialEvent.credential_id)
            .join(
                CredentialVersion,
                (CredentialVersion.id == CredentialEvent.version_id)
                & (CredentialVersion.credential_id == Credential.id),
            )
            .join(CredentialType, CredentialType.id == Credential.type_id)
            .where(CredentialType.name_key == "first aid")
            .order_by(CredentialEvent.id)
        )
    # Then each new credential was submitted then approved, and the renewal added a version,
    # all by the importer, each event naming its own credential's version, holder and type
    admin = world.user_ids["admin"]
    assert [tuple(row) for row in rows] == [
        ("SUBMITTED", "FA-1", 1, admin, True, True),
        ("APPROVED", "FA-1", 1, admin, True, True),
        ("SUBMITTED", "FA-2", 1, admin, True, True),
        ("APPROVED", "FA-2", 1, admin, True, True),
        ("VERSION_ADDED", "FA-1", 2, admin, True, True),
    ]
