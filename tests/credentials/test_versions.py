"""Credentials and their versions through GraphQL: submission, renewal and edits against
the type's rules, the revision that turns concurrent edits into conflicts, approval on
submission and after edits, and which version counts on a day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from server.database import Database
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient, client_on
from tests.credentials.factories import create_type, global_id, local_key
from tests.races import meet_before
from tests.world import World

VERSION_FIELDS = """
  id number issueDate expiryDate credentialNumber approvalStatus rejectionReason reviewedAt
  reviewedBy { id } submittedBy { id } updatedAt
"""
CREDENTIAL_FIELDS = f"""
  id revision archived updatedAt type {{ id }} holder {{ id }}
  latestVersion {{ {VERSION_FIELDS} }}
  versions {{ {VERSION_FIELDS} }}
"""
PAYLOAD = f"credential {{ {CREDENTIAL_FIELDS} }} errors {{ code field message }}"

CREDENTIAL = f"query Credential($id: ID!) {{ credential(id: $id) {{ {CREDENTIAL_FIELDS} }} }}"
VERSION_NODE = f"""
query VersionNode($id: ID!) {{
  node(id: $id) {{ ... on CredentialVersion {{ {VERSION_FIELDS} credential {{ id }} }} }}
}}
"""
STATUS = """
query Status($id: ID!, $on: Date) {
  credential(id: $id) {
    isValid(onDate: $on)
    expiryStatus(onDate: $on)
    effectiveVersion(onDate: $on) { number }
  }
}
"""
CREATE = f"""
mutation Create($input: CreateCredentialInput!) {{
  createCredential(input: $input) {{ {PAYLOAD} }}
}}
"""
ADD = f"""
mutation Add($input: AddCredentialVersionInput!) {{
  addCredentialVersion(input: $input) {{ {PAYLOAD} }}
}}
"""
EDIT = f"""
mutation Edit($input: EditLatestCredentialVersionInput!) {{
  editLatestCredentialVersion(input: $input) {{ {PAYLOAD} }}
}}
"""
APPROVE = f"mutation Approve($id: ID!) {{ approveCredential(id: $id) {{ {PAYLOAD} }} }}"
REJECT = f"""
mutation Reject($id: ID!, $reason: String!) {{
  rejectCredential(id: $id, reason: $reason) {{ {PAYLOAD} }}
}}
"""
ARCHIVE = f"mutation Archive($id: ID!) {{ archiveCredential(id: $id) {{ {PAYLOAD} }} }}"
RESTORE = f"mutation Restore($id: ID!) {{ restoreCredential(id: $id) {{ {PAYLOAD} }} }}"
ADD_TWICE = """
mutation AddTwice($first: AddCredentialVersionInput!, $second: AddCredentialVersionInput!) {
  first: addCredentialVersion(input: $first) {
    credential { latestVersion { number } } errors { code }
  }
  second: addCredentialVersion(input: $second) {
    credential { latestVersion { number } } errors { code }
  }
}
"""
UPDATE_SETTINGS = """
mutation UpdateSettings($input: UpdateCredentialSettingsInput!) {
  updateCredentialSettings(input: $input) { errors { code } }
}
"""

FIRST_AID = "First aid certificate"
ISSUED, EXPIRES = "2026-01-15", "2029-01-15"
RENEWAL = {"issueDate": "2029-01-10", "expiryDate": "2032-01-10", "credentialNumber": "FA-2"}
EXPIRY_BEFORE_ISSUE = "Expiration date is earlier than issue date."
LONG_NUMBER = "N" * 101
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> TestClock:
    return TestClock(START, step=timedelta(seconds=1))


@pytest.fixture
async def client(
    settings: Settings, database: Database, clock: TestClock
) -> AsyncIterator[GraphQLClient]:
    async with client_on(settings, clock) as client:
        yield client


# Helpers: one GraphQL call each --------------------------------------------------------


async def _mutate(
    client: GraphQLClient, document: str, token: str, **variables: Any
) -> dict[str, Any]:
    body = await client.execute(document, variables, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


def _ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["errors"] == [], payload
    credential: dict[str, Any] = payload["credential"]
    return credential


def _errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    assert payload["credential"] is None, payload
    return sorted((e["code"], e["field"]) for e in payload["errors"])


async def _create(
    client: GraphQLClient, token: str, type_id: str, holder_id: int, **fields: Any
) -> dict[str, Any]:
    details = {"issueDate": ISSUED, "expiryDate": EXPIRES, **fields}
    return await _mutate(
        client,
        CREATE,
        token,
        input={"typeId": type_id, "holderId": global_id("User", holder_id), **details},
    )


async def _add(
    client: GraphQLClient, token: str, credential_id: str, **fields: Any
) -> dict[str, Any]:
    return await _mutate(client, ADD, token, input={"credentialId": credential_id, **fields})


async def _edit(
    client: GraphQLClient, token: str, credential: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Edits with the revision read in `credential` unless `expectedRevision` is given."""
    changes = {"expectedRevision": credential["revision"], **fields}
    return await _mutate(client, EDIT, token, input={"credentialId": credential["id"], **changes})


async def _read(client: GraphQLClient, token: str, credential_id: str) -> dict[str, Any]:
    body = await client.execute(CREDENTIAL, {"id": credential_id}, token=token)
    credential: dict[str, Any] = body["data"]["credential"]
    return credential


async def _status(
    client: GraphQLClient, token: str, credential_id: str, on: str | None
) -> tuple[bool, str, int | None]:
    body = await client.execute(STATUS, {"id": credential_id, "on": on}, token=token)
    credential = body["data"]["credential"]
    effective = credential["effectiveVersion"]
    return (
        credential["isValid"],
        credential["expiryStatus"],
        effective["number"] if effective else None,
    )


async def _statuses(
    client: GraphQLClient, token: str, credential_id: str, days: Iterable[str]
) -> dict[str, tuple[bool, str, int | None]]:
    return {on: await _status(client, token, credential_id, on) for on in days}


async def _set_approvals(client: GraphQLClient, world: World, required: bool) -> None:
    payload = await _mutate(
        client, UPDATE_SETTINGS, world.token("admin"), input={"approvalsRequired": required}
    )
    assert payload["errors"] == []


def _details(version: dict[str, Any]) -> tuple[Any, ...]:
    return (
        version["number"],
        version["issueDate"],
        version["expiryDate"],
        version["credentialNumber"],
        version["approvalStatus"],
    )


class Given:
    """The usual cast: the employee holds, the credentials manager reviews, the admin
    manages the type."""

    def __init__(self, client: GraphQLClient, world: World) -> None:
        self.client = client
        self.world = world
        self.holder = world.token("employee")
        self.holder_id = world.user_ids["employee"]
        self.reviewer = world.token("credentials_manager")
        self.admin = world.token("admin")

    async def type(self, **fields: Any) -> str:
        fields.setdefault("name", FIRST_AID)
        return await create_type(self.client, self.admin, **fields)

    async def credential(self, type_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """A pending credential the holder submitted."""
        type_id = type_id or await self.type()
        return _ok(await _create(self.client, self.holder, type_id, self.holder_id, **fields))

    async def approved(self, type_id: str | None = None, **fields: Any) -> dict[str, Any]:
        credential = await self.credential(type_id, **fields)
        return _ok(await _mutate(self.client, APPROVE, self.reviewer, id=credential["id"]))

    async def renewed(self, credential: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return _ok(await _add(self.client, self.holder, credential["id"], **(fields or RENEWAL)))


@pytest.fixture
def given(client: GraphQLClient, world: World) -> Given:
    return Given(client, world)


# History ------------------------------------------------------------------------------


async def test_versions_come_newest_first_and_the_latest_is_the_newest(
    client: GraphQLClient, given: Given
) -> None:
    # given an approved credential
    credential = await given.approved(credentialNumber="FA-1")
    assert credential["revision"] == 2
    # when it is renewed twice
    second = await given.renewed(credential)
    third = await given.renewed(
        second, issueDate="2032-01-05", expiryDate="2035-01-05", credentialNumber="FA-3"
    )
    # then each renewal is the latest version and a new revision
    assert (second["revision"], second["latestVersion"]["number"]) == (3, 2)
    assert (third["revision"], third["latestVersion"]["number"]) == (4, 3)
    # and the history is newest first, each version as submitted
    read = await _read(client, given.holder, credential["id"])
    assert [_details(v) for v in read["versions"]] == [
        (3, "2032-01-05", "2035-01-05", "FA-3", "PENDING"),
        (2, "2029-01-10", "2032-01-10", "FA-2", "PENDING"),
        (1, ISSUED, EXPIRES, "FA-1", "APPROVED"),
    ]
    assert read["latestVersion"] == read["versions"][0]
    assert read["revision"] == 4


async def test_an_old_version_is_fetched_by_its_id_with_all_its_details(
    client: GraphQLClient, given: Given, world: World
) -> None:
    # given a first version rejected with a reason, then a renewal
    credential = await given.credential(credentialNumber="FA-1")
    first = credential["latestVersion"]
    rejected = _ok(
        await _mutate(client, REJECT, given.reviewer, id=credential["id"], reason="Blurred scan")
    )
    await given.renewed(rejected)

    # when an admin fetches the first version by its id
    body = await client.execute(VERSION_NODE, {"id": first["id"]}, token=given.admin)
    # then every detail of it is there
    version = body["data"]["node"]
    assert version == {
        **first,
        "approvalStatus": "REJECTED",
        "rejectionReason": "Blurred scan",
        "reviewedAt": rejected["updatedAt"],
        "reviewedBy": {"id": global_id("User", world.user_ids["credentials_manager"])},
        "submittedBy": {"id": global_id("User", given.holder_id)},
        "updatedAt": rejected["updatedAt"],
        "credential": {"id": credential["id"]},
    }
    assert _details(version) == (1, ISSUED, EXPIRES, "FA-1", "REJECTED")

    # when the holder fetches it / then they read the number and why it was rejected
    body = await client.execute(VERSION_NODE, {"id": first["id"]}, token=given.holder)
    mine = body["data"]["node"]
    assert (mine["credentialNumber"], mine["rejectionReason"]) == ("FA-1", "Blurred scan")

    # when someone who may not see the holder, or another organization, fetches it
    for role in ["bolt_worker", "south_admin"]:
        body = await client.execute(VERSION_NODE, {"id": first["id"]}, token=world.token(role))
        # then it is not there
        assert body["data"]["node"] is None


# The type's rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "issued", "proposed"),
    [
        pytest.param(36, "2026-01-31", "2029-01-31", id="three years"),
        pytest.param(1, "2024-01-31", "2024-02-29", id="31 Jan + 1 month, leap year"),
        pytest.param(12, "2024-02-29", "2025-02-28", id="29 Feb + 1 year"),
        pytest.param(6, "2025-08-31", "2026-02-28", id="to a shorter month"),
    ],
)
@pytest.mark.parametrize("operation", ["create", "add"])
async def test_the_expiry_date_is_proposed_from_the_default_validity(
    given: Given, operation: str, months: int, issued: str, proposed: str
) -> None:
    # given a type with a default validity
    type_id = await given.type(defaultValidityMonths=months)
    # when a version is submitted with an issue date and no expiry date
    if operation == "create":
        credential = await given.credential(type_id, issueDate=issued, expiryDate=None)
    else:
        first = await given.credential(type_id, issueDate="2020-01-01", expiryDate="2020-12-31")
        credential = await given.renewed(first, issueDate=issued)
    # then its expiry date is proposed that many months after the issue date
    latest = credential["latestVersion"]
    assert (latest["issueDate"], latest["expiryDate"]) == (issued, proposed)


@pytest.mark.parametrize("operation", ["create", "add"])
async def test_a_given_expiry_date_wins_over_the_default_validity(
    given: Given, operation: str
) -> None:
    # given a type with a default validity of three years
    type_id = await given.type(defaultValidityMonths=36)
    # when a version is submitted with its own expiry date
    dates = {"issueDate": "2026-01-15", "expiryDate": "2027-01-15"}
    if operation == "create":
        credential = await given.credential(type_id, **dates)
    else:
        credential = await given.renewed(await given.credential(type_id), **dates)
    # then that expiry date is kept
    assert credential["latestVersion"]["expiryDate"] == "2027-01-15"


REQUIRED_BOTH: dict[str, Any] = {}
RULE_CASES = [
    pytest.param(
        REQUIRED_BOTH,
        {},
        [("REQUIRED", "expiryDate"), ("REQUIRED", "issueDate")],
        id="both missing",
    ),
    pytest.param(
        REQUIRED_BOTH, {"issueDate": ISSUED}, [("REQUIRED", "expiryDate")], id="no expiry"
    ),
    pytest.param(
        REQUIRED_BOTH, {"expiryDate": EXPIRES}, [("REQUIRED", "issueDate")], id="no issue"
    ),
    pytest.param(
        {"defaultValidityMonths": 12},
        {},
        [("REQUIRED", "expiryDate"), ("REQUIRED", "issueDate")],
        id="nothing to propose from",
    ),
    pytest.param(
        {"issueDateRule": "NOT_USED"},
        {"issueDate": ISSUED, "expiryDate": EXPIRES},
        [("NOT_USED", "issueDate")],
        id="issue date not used",
    ),
    pytest.param(
        {"neverExpires": True},
        {"issueDate": ISSUED, "expiryDate": EXPIRES},
        [("NOT_USED", "expiryDate")],
        id="never expires",
    ),
    pytest.param(
        REQUIRED_BOTH,
        {"issueDate": "2026-05-01", "expiryDate": "2026-04-30"},
        [("EXPIRY_BEFORE_ISSUE", "expiryDate")],
        id="expiry before issue",
    ),
    pytest.param(
        REQUIRED_BOTH,
        {"issueDate": ISSUED, "expiryDate": EXPIRES, "credentialNumber": LONG_NUMBER},
        [("INVALID", "credentialNumber")],
        id="number too long",
    ),
    pytest.param(
        {"issueDateRule": "NOT_USED"},
        {"issueDate": ISSUED, "credentialNumber": LONG_NUMBER},
        [("INVALID", "credentialNumber"), ("NOT_USED", "issueDate"), ("REQUIRED", "expiryDate")],
        id="three fields at once",
    ),
    pytest.param(
        REQUIRED_BOTH,
        {"issueDate": "2026-05-01", "expiryDate": "2026-04-30", "credentialNumber": LONG_NUMBER},
        [("EXPIRY_BEFORE_ISSUE", "expiryDate"), ("INVALID", "credentialNumber")],
        id="two problems at once",
    ),
    pytest.param(
        REQUIRED_BOTH, {"issueDate": ISSUED, "expiryDate": ISSUED}, [], id="expires the day issued"
    ),
    pytest.param(
        {"issueDateRule": "OPTIONAL", "expiryDateRule": "OPTIONAL"}, {}, [], id="all optional"
    ),
    pytest.param({"neverExpires": True}, {"issueDate": ISSUED}, [], id="never expires, issued"),
    pytest.param(
        {"issueDateRule": "NOT_USED"}, {"expiryDate": EXPIRES}, [], id="only an expiry date"
    ),
]


def _valid_for(type_fields: dict[str, Any]) -> dict[str, Any]:
    """Details any type of RULE_CASES accepts."""
    details: dict[str, Any] = {"issueDate": None, "expiryDate": None}
    if type_fields.get("issueDateRule") != "NOT_USED":
        details["issueDate"] = "2020-01-01"
    if not type_fields.get("neverExpires"):
        details["expiryDate"] = "2020-12-31"
    return details


@pytest.mark.parametrize(("type_fields", "details", "expected"), RULE_CASES)
async def test_a_new_credential_follows_its_types_rules(
    client: GraphQLClient,
    given: Given,
    type_fields: dict[str, Any],
    details: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a type with its rules
    type_id = await given.type(**type_fields)
    # when a credential is submitted with some details
    fields = {"issueDate": None, "expiryDate": None, **details}
    payload = await _create(client, given.holder, type_id, given.holder_id, **fields)
    # then every problem is reported at once, and a refused credential is not created
    if expected:
        assert _errors(payload) == expected
        body = await client.execute("{ credentials { totalCount } }", token=given.admin)
        assert body["data"]["credentials"]["totalCount"] == 0
    else:
        assert _ok(payload)["latestVersion"]["number"] == 1


@pytest.mark.parametrize(("type_fields", "details", "expected"), RULE_CASES)
async def test_a_renewal_follows_its_types_rules(
    client: GraphQLClient,
    given: Given,
    type_fields: dict[str, Any],
    details: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a credential of a type with its rules
    type_id = await given.type(**type_fields)
    credential = await given.credential(type_id, **_valid_for(type_fields))
    # when a renewal is submitted with some details
    payload = await _add(client, given.holder, credential["id"], **details)
    # then every problem is reported at once, and a refused renewal is not added
    if expected:
        assert _errors(payload) == expected
        assert await _read(client, given.holder, credential["id"]) == credential
    else:
        assert _ok(payload)["latestVersion"]["number"] == 2


@pytest.mark.parametrize(
    ("type_fields", "changes", "expected"),
    [
        pytest.param(
            REQUIRED_BOTH, {"issueDate": None}, [("REQUIRED", "issueDate")], id="clear issue"
        ),
        pytest.param(
            REQUIRED_BOTH, {"expiryDate": None}, [("REQUIRED", "expiryDate")], id="clear expiry"
        ),
        pytest.param(
            REQUIRED_BOTH,
            {"issueDate": None, "expiryDate": None},
            [("REQUIRED", "expiryDate"), ("REQUIRED", "issueDate")],
            id="clear both",
        ),
        pytest.param(
            {"issueDateRule": "NOT_USED"},
            {"issueDate": "2020-01-01"},
            [("NOT_USED", "issueDate")],
            id="issue date not used",
        ),
        pytest.param(
            {"neverExpires": True},
            {"expiryDate": EXPIRES},
            [("NOT_USED", "expiryDate")],
            id="never expires",
        ),
        pytest.param(
            REQUIRED_BOTH,
            {"expiryDate": "2019-12-31"},
            [("EXPIRY_BEFORE_ISSUE", "expiryDate")],
            id="expiry moved before issue",
        ),
        pytest.param(
            REQUIRED_BOTH,
            {"issueDate": "2021-01-01"},
            [("EXPIRY_BEFORE_ISSUE", "expiryDate")],
            id="issue moved after expiry",
        ),
        pytest.param(
            REQUIRED_BOTH,
            {"issueDate": None, "credentialNumber": LONG_NUMBER},
            [("INVALID", "credentialNumber"), ("REQUIRED", "issueDate")],
            id="two problems at once",
        ),
    ],
)
async def test_an_edit_follows_the_types_rules_and_a_refused_one_changes_nothing(
    client: GraphQLClient,
    given: Given,
    type_fields: dict[str, Any],
    changes: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a credential of a type with its rules
    type_id = await given.type(**type_fields)
    credential = await given.credential(type_id, **_valid_for(type_fields))
    # when its latest version is edited against the rules
    payload = await _edit(client, given.holder, credential, **changes)
    # then every problem is reported at once and nothing changed
    assert _errors(payload) == expected
    assert await _read(client, given.holder, credential["id"]) == credential


async def test_expiry_before_issue_is_told_in_plain_words(
    client: GraphQLClient, given: Given
) -> None:
    # given a type and a credential of it
    type_id = await given.type()
    credential = await given.credential(type_id)
    before = {"issueDate": "2026-05-01", "expiryDate": "2026-04-30"}
    # when a version is created, added or edited to expire before it is issued
    payloads = [
        await _create(client, given.admin, type_id, given.world.user_ids["acme_worker"], **before),
        await _add(client, given.holder, credential["id"], **before),
        await _edit(client, given.holder, credential, **before),
    ]
    # then each is refused with the same message
    for payload in payloads:
        assert [(e["code"], e["field"], e["message"]) for e in payload["errors"]] == [
            ("EXPIRY_BEFORE_ISSUE", "expiryDate", EXPIRY_BEFORE_ISSUE)
        ]


# Editing the latest version -----------------------------------------------------------


async def test_an_edit_keeps_fields_left_out_and_clears_fields_given_null(
    client: GraphQLClient, given: Given
) -> None:
    # given a credential whose type has an optional expiry date
    type_id = await given.type(expiryDateRule="OPTIONAL")
    credential = await given.credential(type_id, credentialNumber="FA-1")

    # when only its number changes / then its dates are kept, in the same version
    credential = _ok(await _edit(client, given.holder, credential, credentialNumber="FA-2"))
    assert _details(credential["latestVersion"]) == (1, ISSUED, EXPIRES, "FA-2", "PENDING")
    assert credential["revision"] == 2

    # when its expiry date is given null / then only that is cleared
    credential = _ok(await _edit(client, given.holder, credential, expiryDate=None))
    assert _details(credential["latestVersion"]) == (1, ISSUED, None, "FA-2", "PENDING")

    # when its number is given null and its issue date a new value / then both change
    credential = _ok(
        await _edit(client, given.holder, credential, credentialNumber=None, issueDate="2026-02-01")
    )
    assert _details(credential["latestVersion"]) == (1, "2026-02-01", None, None, "PENDING")
    # and it is still one version, changed in place, one revision per change
    assert [v["number"] for v in credential["versions"]] == [1]
    assert credential["revision"] == 4


async def test_only_the_latest_version_is_edited(client: GraphQLClient, given: Given) -> None:
    # given a renewed credential
    credential = await given.renewed(await given.approved(credentialNumber="FA-1"))
    first = credential["versions"][1]
    # when the latest version is edited
    edited = _ok(await _edit(client, given.holder, credential, credentialNumber="FA-2b"))
    # then the renewal changed and the first version did not
    assert edited["versions"][0]["credentialNumber"] == "FA-2b"
    assert edited["versions"][1] == first


@pytest.mark.parametrize("change_since", ["edit", "renewal", "review"])
@pytest.mark.parametrize("mutation", ["edit", "add"])
async def test_a_stale_revision_is_a_conflict_and_changes_nothing(
    client: GraphQLClient, given: Given, change_since: str, mutation: str
) -> None:
    # given a credential read at one revision, then changed by someone else
    read = await given.credential(credentialNumber="FA-1")
    if change_since == "edit":
        await _edit(client, given.admin, read, credentialNumber="FA-1b")
    elif change_since == "renewal":
        await given.renewed(read)
    else:
        await _mutate(client, APPROVE, given.reviewer, id=read["id"])
    current = await _read(client, given.holder, read["id"])
    assert current["revision"] == read["revision"] + 1

    # when the holder changes it with the revision they read
    if mutation == "edit":
        payload = await _edit(client, given.holder, read, credentialNumber="FA-9")
    else:
        payload = await _add(
            client, given.holder, read["id"], expectedRevision=read["revision"], **RENEWAL
        )

    # then it is a conflict that says what to do, and nothing changed
    assert _errors(payload) == [("CONFLICT", "expectedRevision")]
    assert "read it again" in payload["errors"][0]["message"]
    assert await _read(client, given.holder, read["id"]) == current


async def test_two_edits_sent_at_once_with_the_same_revision_make_one_change(
    client: GraphQLClient, given: Given, backend: str
) -> None:
    # given a credential read at one revision by two people
    credential = await given.credential(credentialNumber="FA-1")
    # when both send an edit at once with that revision; on SQLite write transactions are
    # serialized by BEGIN IMMEDIATE, on PostgreSQL both are made to read the credential
    # before either writes
    meeting = meet_before("UPDATE credential_versions") if backend == "postgres" else nullcontext()
    edit = {"credentialId": credential["id"], "expectedRevision": credential["revision"]}
    with meeting:
        responses = await asyncio.gather(
            client.post(EDIT, {"input": {**edit, "credentialNumber": "A"}}, given.holder),
            client.post(EDIT, {"input": {**edit, "credentialNumber": "B"}}, given.admin),
        )
    # then exactly one succeeds and the other is a conflict
    payloads = [r.json()["data"]["editLatestCredentialVersion"] for r in responses]
    outcomes = [p["errors"][0]["code"] if p["errors"] else "OK" for p in payloads]
    assert sorted(outcomes) == ["CONFLICT", "OK"]
    # and the credential holds the winner's change, one revision on
    winner = payloads[outcomes.index("OK")]["credential"]
    read = await _read(client, given.holder, credential["id"])
    assert read == winner
    assert read["revision"] == credential["revision"] + 1


async def test_an_edit_at_the_same_instant_as_the_last_change_still_moves_the_revision(
    settings: Settings, database: Database, world: World
) -> None:
    # given an app whose clock stands still, and a credential read at revision 1
    async with client_on(settings, TestClock(START, step=timedelta(0))) as client:
        given = Given(client, world)
        read = await given.credential(credentialNumber="FA-1")
        # when it is edited once, then again with the revision read before the first edit
        first = _ok(await _edit(client, given.holder, read, credentialNumber="FA-2"))
        second = await _edit(client, given.admin, read, credentialNumber="FA-3")
        # then the second is a conflict: the first edit moved the revision
        assert _errors(second) == [("CONFLICT", "expectedRevision")]
        assert first["revision"] == read["revision"] + 1


async def test_each_mutation_of_a_document_answers_with_its_own_result(
    client: GraphQLClient, given: Given
) -> None:
    # given a credential
    credential = await given.credential()
    renewal = {"credentialId": credential["id"], **RENEWAL}
    # when one document renews it twice
    body = await client.execute(
        ADD_TWICE, {"first": renewal, "second": renewal}, token=given.holder
    )
    # then each mutation answers with the credential as it left it
    assert body["data"]["first"]["credential"]["latestVersion"]["number"] == 2
    assert body["data"]["second"]["credential"]["latestVersion"]["number"] == 3


# Approval on submission and after edits -----------------------------------------------


@pytest.mark.parametrize(("required", "status"), [(True, "PENDING"), (False, "APPROVED")])
async def test_new_versions_wait_for_approval_only_when_approvals_are_required(
    client: GraphQLClient, given: Given, world: World, required: bool, status: str
) -> None:
    # given an organization that does or does not require approvals
    await _set_approvals(client, world, required)
    # when a credential is submitted and renewed
    created = await given.credential()
    renewed = await given.renewed(created)
    # then each version waits for approval, or is approved on submission with no reviewer
    for credential in (created, renewed):
        latest = credential["latestVersion"]
        assert (latest["approvalStatus"], latest["reviewedBy"], latest["reviewedAt"]) == (
            status,
            None,
            None,
        )


@pytest.mark.parametrize(
    ("holder", "editor", "status"),
    [
        pytest.param("employee", "employee", "PENDING", id="the holder"),
        pytest.param("employee", "users_manager", "PENDING", id="a users manager"),
        pytest.param("acme_worker", "company_manager", "PENDING", id="their company manager"),
        pytest.param("employee", "admin", "APPROVED", id="a reviewer"),
        pytest.param("admin", "admin", "PENDING", id="a reviewer, their own"),
    ],
)
async def test_an_edited_approved_version_needs_approval_again_unless_a_reviewer_edits_it(
    client: GraphQLClient, given: Given, world: World, holder: str, editor: str, status: str
) -> None:
    # given an approved credential
    type_id = await given.type()
    created = _ok(await _create(client, world.token(holder), type_id, world.user_ids[holder]))
    approved = _ok(await _mutate(client, APPROVE, given.reviewer, id=created["id"]))
    # when it is edited
    edited = _ok(await _edit(client, world.token(editor), approved, credentialNumber="FA-2"))
    # then it waits for approval again unless a reviewer (not the holder) made the change
    latest = edited["latestVersion"]
    assert (latest["approvalStatus"], latest["credentialNumber"]) == (status, "FA-2")
    if status == "PENDING":
        assert (latest["reviewedBy"], latest["reviewedAt"]) == (None, None)
    else:
        assert latest["reviewedBy"] == approved["latestVersion"]["reviewedBy"]


async def test_an_edited_rejected_version_is_submitted_again(
    client: GraphQLClient, given: Given
) -> None:
    # given a rejected credential
    credential = await given.credential()
    rejected = _ok(
        await _mutate(client, REJECT, given.reviewer, id=credential["id"], reason="Blurred scan")
    )
    assert rejected["latestVersion"]["rejectionReason"] == "Blurred scan"
    # when the holder corrects it
    edited = _ok(await _edit(client, given.holder, rejected, credentialNumber="FA-1"))
    # then it waits for approval again, and may be approved
    assert edited["latestVersion"]["approvalStatus"] == "PENDING"
    assert edited["latestVersion"]["rejectionReason"] is None
    approved = _ok(await _mutate(client, APPROVE, given.reviewer, id=credential["id"]))
    assert approved["latestVersion"]["approvalStatus"] == "APPROVED"


async def test_a_rejected_version_corrected_after_approvals_were_turned_off_is_approved(
    client: GraphQLClient, given: Given, world: World
) -> None:
    # given a rejected credential, and then approvals no longer required
    credential = await given.credential()
    rejected = _ok(
        await _mutate(client, REJECT, given.reviewer, id=credential["id"], reason="Blurred scan")
    )
    await _set_approvals(client, world, required=False)
    # when the holder corrects it
    edited = _ok(await _edit(client, given.holder, rejected, credentialNumber="FA-1"))
    # then it is approved, as any submission is now
    assert edited["latestVersion"]["approvalStatus"] == "APPROVED"


async def test_approval_is_final_and_a_rejection_needs_a_reason(
    client: GraphQLClient, given: Given
) -> None:
    # given a pending credential
    credential = await given.credential()
    # when it is rejected without a reason / then that is refused
    payload = await _mutate(client, REJECT, given.reviewer, id=credential["id"], reason="  ")
    assert _errors(payload) == [("REQUIRED", "reason")]
    # when its holder approves it / then that is refused too
    payload = await _mutate(client, APPROVE, given.holder, id=credential["id"])
    assert _errors(payload) == [("OWN_CREDENTIAL", None)]
    # when a reviewer approves it / then it is approved, by them
    approved = _ok(await _mutate(client, APPROVE, given.reviewer, id=credential["id"]))
    reviewer_id = global_id("User", given.world.user_ids["credentials_manager"])
    latest = approved["latestVersion"]
    assert (latest["approvalStatus"], latest["reviewedBy"]) == ("APPROVED", {"id": reviewer_id})
    # when it is approved or rejected again / then approval is final
    for payload in [
        await _mutate(client, APPROVE, given.admin, id=credential["id"]),
        await _mutate(client, REJECT, given.admin, id=credential["id"], reason="Changed my mind"),
    ]:
        assert _errors(payload) == [("NOT_PENDING", None)]
    assert await _read(client, given.reviewer, credential["id"]) == approved


# The version that counts on a day -----------------------------------------------------


ON_A_DAY: dict[str, tuple[bool, str, int | None]] = {
    "2026-01-14": (False, "VALID", None),  # before its issue date: not valid yet
    "2026-01-15": (True, "VALID", 1),  # its issue date
    "2027-06-01": (True, "VALID", 1),
    "2028-12-15": (True, "VALID", 1),  # 31 days before it expires
    "2028-12-16": (True, "EXPIRING_SOON", 1),  # 30 days before
    EXPIRES: (True, "EXPIRING_SOON", 1),  # its expiry date is its last valid day
    "2029-01-16": (False, "EXPIRED", None),  # the day after
    "2035-01-01": (False, "EXPIRED", None),
}


async def test_an_approved_credential_on_a_day(client: GraphQLClient, given: Given) -> None:
    # given an approved credential issued 2026-01-15, expiring 2029-01-15
    credential = await given.approved()
    # when its validity, status and effective version on each day are asked for / then
    assert await _statuses(client, given.holder, credential["id"], ON_A_DAY) == ON_A_DAY


async def test_without_a_date_it_is_todays_status(
    client: GraphQLClient, given: Given, clock: TestClock
) -> None:
    # given an approved credential expiring 2029-01-15
    credential = await given.approved()
    today: dict[date, tuple[bool, str, int | None]] = {
        date(2027, 3, 1): (True, "VALID", 1),
        date(2029, 1, 10): (True, "EXPIRING_SOON", 1),
        date(2029, 1, 16): (False, "EXPIRED", None),
    }
    read = {}
    for day in today:
        # when the day comes
        clock.set_day(day)
        read[day] = await _status(client, given.holder, credential["id"], None)
    # then its status without a date is that day's
    assert read == today


async def test_a_pending_renewal_never_hides_the_approved_version(
    client: GraphQLClient, given: Given
) -> None:
    # given an approved credential expiring 2029-01-15, and a pending renewal of it
    credential = await given.renewed(await given.approved())
    assert credential["latestVersion"]["approvalStatus"] == "PENDING"
    # when asked for on days around the approved one's expiry
    # then the approved one counts until it expires; after, nothing is valid
    pending = {
        "2028-06-01": (True, "VALID", 1),
        "2029-01-12": (True, "EXPIRING_SOON", 1),
        "2029-01-20": (False, "EXPIRED", None),
    }
    assert await _statuses(client, given.holder, credential["id"], pending) == pending

    # when the renewal is approved
    _ok(await _mutate(client, APPROVE, given.reviewer, id=credential["id"]))
    # then it counts from its issue date, 2029-01-10
    approved = {
        "2029-01-09": (True, "EXPIRING_SOON", 1),
        "2029-01-12": (True, "VALID", 2),
        "2029-01-20": (True, "VALID", 2),
    }
    assert await _statuses(client, given.holder, credential["id"], approved) == approved


async def test_a_rejected_renewal_never_hides_the_approved_version(
    client: GraphQLClient, given: Given
) -> None:
    # given an approved credential whose renewal was rejected
    credential = await given.renewed(await given.approved())
    _ok(await _mutate(client, REJECT, given.reviewer, id=credential["id"], reason="Wrong file"))
    # when asked for before and after the approved one expires / then it alone counts
    expected = {"2028-06-01": (True, "VALID", 1), "2029-01-20": (False, "EXPIRED", None)}
    assert await _statuses(client, given.holder, credential["id"], expected) == expected


@pytest.mark.parametrize("review", ["none", "reject"])
async def test_without_an_approved_version_nothing_is_valid(
    client: GraphQLClient, given: Given, review: str
) -> None:
    # given a credential never approved
    credential = await given.credential()
    if review == "reject":
        _ok(await _mutate(client, REJECT, given.reviewer, id=credential["id"], reason="No"))
    # when asked for on days within and after its dates
    # then it is never valid; its status is that of its dates
    expected = {"2027-06-01": (False, "VALID", None), "2029-02-01": (False, "EXPIRED", None)}
    assert await _statuses(client, given.holder, credential["id"], expected) == expected


async def test_a_credential_that_never_expires(client: GraphQLClient, given: Given) -> None:
    # given an approved credential of a type that never expires
    type_id = await given.type(neverExpires=True)
    credential = await given.approved(type_id, expiryDate=None)
    assert credential["latestVersion"]["expiryDate"] is None
    # when asked for on any day from its issue date / then it is valid, with no expiry
    expected = {"2026-01-15": (True, "NO_EXPIRY", 1), "2099-12-31": (True, "NO_EXPIRY", 1)}
    assert await _statuses(client, given.holder, credential["id"], expected) == expected


async def test_a_lapsed_credential_reads_expired_until_its_renewal_is_issued(
    client: GraphQLClient, given: Given
) -> None:
    # given an approved credential expiring 2029-01-15 and an approved renewal issued later
    credential = await given.renewed(
        await given.approved(), issueDate="2029-02-01", expiryDate="2032-02-01"
    )
    _ok(await _mutate(client, APPROVE, given.reviewer, id=credential["id"]))
    # when asked for on a day between the two / then it has lapsed
    assert await _status(client, given.holder, credential["id"], "2029-01-20") == (
        False,
        "EXPIRED",
        None,
    )


@pytest.mark.parametrize(
    ("days", "statuses"),
    [
        pytest.param(None, {"2028-12-15": "VALID", "2028-12-16": "EXPIRING_SOON"}, id="default 30"),
        pytest.param(60, {"2028-11-15": "VALID", "2028-11-16": "EXPIRING_SOON"}, id="60"),
        pytest.param(7, {"2029-01-07": "VALID", "2029-01-08": "EXPIRING_SOON"}, id="7"),
        pytest.param(0, {"2029-01-14": "VALID", EXPIRES: "EXPIRING_SOON"}, id="0"),
    ],
)
async def test_the_expiring_soon_window_is_the_organizations(
    client: GraphQLClient, given: Given, days: int | None, statuses: dict[str, str]
) -> None:
    # given an approved credential expiring 2029-01-15, and the organization's window
    credential = await given.approved()
    if days is not None:
        payload = await _mutate(
            client, UPDATE_SETTINGS, given.admin, input={"expiringSoonDays": days}
        )
        assert payload["errors"] == []
    # when its status is asked for on the last day before the window and the first in it
    read = {on: (await _status(client, given.holder, credential["id"], on))[1] for on in statuses}
    # then the window decides
    assert read == statuses


# One live credential per holder and type ----------------------------------------------


async def test_a_holder_has_one_live_credential_of_a_type(
    client: GraphQLClient, given: Given, world: World
) -> None:
    # given the holder's credential of a type
    type_id = await given.type()
    credential = await given.credential(type_id)

    # when a second one of that type is submitted for them
    payload = await _create(client, given.admin, type_id, given.holder_id)
    # then it is refused, saying to add a version instead
    assert _errors(payload) == [("DUPLICATE_CREDENTIAL", "typeId")]
    assert "add a version" in payload["errors"][0]["message"]

    # when one of another type, or for another holder, is submitted / then it is created
    other_type = await given.type(name="Forklift licence")
    _ok(await _create(client, given.admin, other_type, given.holder_id))
    _ok(await _create(client, given.admin, type_id, world.user_ids["acme_worker"]))

    # when the first is archived / then a new one of its type may be submitted
    _ok(await _mutate(client, ARCHIVE, given.admin, id=credential["id"]))
    _ok(await _create(client, given.holder, type_id, given.holder_id))
    # and the archived one may not come back while the new one is live
    payload = await _mutate(client, RESTORE, given.admin, id=credential["id"])
    assert _errors(payload) == [("DUPLICATE_CREDENTIAL", None)]


async def test_the_same_credential_submitted_twice_at_once_is_created_once(
    client: GraphQLClient, given: Given, backend: str
) -> None:
    # given a type, and a holder who submits the same credential twice at once; on SQLite
    # write transactions are serialized by BEGIN IMMEDIATE, on PostgreSQL both are made to
    # check for a live credential before either inserts
    type_id = await given.type()
    variables = {
        "input": {
            "typeId": type_id,
            "holderId": global_id("User", given.holder_id),
            "issueDate": ISSUED,
            "expiryDate": EXPIRES,
        }
    }
    meeting = meet_before("INSERT INTO credentials") if backend == "postgres" else nullcontext()
    # when both run
    with meeting:
        responses = await asyncio.gather(
            client.post(CREATE, variables, given.holder),
            client.post(CREATE, variables, given.holder),
        )
    # then one is created and the other refused as a duplicate
    outcomes = []
    for response in responses:
        body = response.json()
        if body.get("errors"):
            outcomes.append(body["errors"][0]["extensions"]["code"])
        else:
            errors = body["data"]["createCredential"]["errors"]
            outcomes.append(errors[0]["code"] if errors else "OK")
    assert sorted(outcomes) == ["DUPLICATE_CREDENTIAL", "OK"]


@pytest.mark.parametrize(
    ("creator", "holder", "expected"),
    [
        pytest.param("admin", "inactive", ("HOLDER_INACTIVE", "holderId"), id="inactive"),
        pytest.param("admin", "south_worker", ("NOT_FOUND", "holderId"), id="other organization"),
        pytest.param("employee", "acme_worker", ("NOT_FOUND", "holderId"), id="not visible"),
        pytest.param(
            "credentials_manager", "employee", ("PERMISSION_DENIED", None), id="not managed"
        ),
        pytest.param("company_manager", "bolt_worker", ("NOT_FOUND", "holderId"), id="not theirs"),
        pytest.param("company_manager", "acme_worker", None, id="their company's worker"),
        pytest.param("users_manager", "employee", None, id="a users manager"),
    ],
)
async def test_the_holder_is_an_active_user_the_submitter_manages(
    client: GraphQLClient,
    given: Given,
    world: World,
    creator: str,
    holder: str,
    expected: tuple[str, str | None] | None,
) -> None:
    # given a type
    type_id = await given.type()
    # when someone submits a credential for a holder
    payload = await _create(client, world.token(creator), type_id, world.user_ids[holder])
    # then it is created only for an active user of the organization they may manage
    if expected is None:
        assert _ok(payload)["holder"] == {"id": global_id("User", world.user_ids[holder])}
    else:
        assert _errors(payload) == [expected]


async def test_the_type_and_holder_ids_must_name_a_type_and_a_user(
    client: GraphQLClient, given: Given, world: World
) -> None:
    # given a type of another organization, and ids of the wrong kind
    south_type = await create_type(client, world.token("south_admin"), name=FIRST_AID)
    type_id = await given.type()
    cases = [
        (south_type, global_id("User", given.holder_id), ("NOT_FOUND", "typeId")),
        (
            global_id("User", given.holder_id),
            global_id("User", given.holder_id),
            ("NOT_FOUND", "typeId"),
        ),
        (type_id, type_id, ("NOT_FOUND", "holderId")),
        (
            global_id("CredentialType", local_key(type_id) + 100),
            global_id("User", given.holder_id),
            ("NOT_FOUND", "typeId"),
        ),
    ]
    for type_gid, holder_gid, expected in cases:
        # when a credential is submitted with them
        payload = await _mutate(
            client,
            CREATE,
            given.holder,
            input={
                "typeId": type_gid,
                "holderId": holder_gid,
                "issueDate": ISSUED,
                "expiryDate": EXPIRES,
            },
        )
        # then the one at fault is not found
        assert _errors(payload) == [expected]
