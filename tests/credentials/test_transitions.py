"""The credential lifecycle as a state machine: every action from every state.

A state is the latest version's approval status and whether the credential is archived.
Each row says whether the action is allowed (or the code it is refused with) and the state
it leaves behind. Actions are taken by someone allowed to take them, so every refusal here
is about the state, never about who asks (tests/credentials/test_authorization_matrix.py
covers who).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from models import ApprovalStatus
from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import (
    REASON,
    CredentialState,
    credential_state,
    event_kinds,
    read_tables,
    seeding,
)
from tests.world import World

PENDING = ApprovalStatus.PENDING
APPROVED = ApprovalStatus.APPROVED
REJECTED = ApprovalStatus.REJECTED
LIVE, ARCHIVED = False, True
OK = "OK"
GONE = None  # the credential no longer exists

ERRORS = "errors { code field message }"
APPROVE = f"""
mutation Approve($id: ID!) {{ approveCredential(id: $id) {{ credential {{ id }} {ERRORS} }} }}
"""
REJECT = f"""
mutation Reject($id: ID!, $reason: String!) {{
  rejectCredential(id: $id, reason: $reason) {{ credential {{ id }} {ERRORS} }}
}}
"""
ADD_VERSION = f"""
mutation AddVersion($input: AddCredentialVersionInput!) {{
  addCredentialVersion(input: $input) {{ credential {{ id }} {ERRORS} }}
}}
"""
EDIT_LATEST = f"""
mutation EditLatest($input: EditLatestCredentialVersionInput!) {{
  editLatestCredentialVersion(input: $input) {{ credential {{ id }} {ERRORS} }}
}}
"""
ARCHIVE = f"""
mutation Archive($id: ID!) {{ archiveCredential(id: $id) {{ credential {{ id }} {ERRORS} }} }}
"""
RESTORE = f"""
mutation Restore($id: ID!) {{ restoreCredential(id: $id) {{ credential {{ id }} {ERRORS} }} }}
"""
DELETE = f"""
mutation Delete($id: ID!, $confirm: Boolean!) {{
  deleteCredential(id: $id, confirm: $confirm) {{ deletedId {ERRORS} }}
}}
"""
STATE = """
query State($id: ID!) {
  credential(id: $id) {
    archived
    versions { number approvalStatus rejectionReason }
    latestVersion { number approvalStatus }
  }
}
"""


@dataclass(frozen=True)
class Action:
    document: str
    field: str
    actor: str
    event: str
    confirm: bool = True

    def variables(self, credential_id: str, revision: int) -> dict[str, Any]:
        if self.field == "rejectCredential":
            return {"id": credential_id, "reason": "The photo is blurred."}
        if self.field == "addCredentialVersion":
            return {
                "input": {
                    "credentialId": credential_id,
                    "issueDate": "2026-02-01",
                    "expiryDate": "2029-02-01",
                    "credentialNumber": "FA-2002",
                }
            }
        if self.field == "editLatestCredentialVersion":
            return {
                "input": {
                    "credentialId": credential_id,
                    "expectedRevision": revision,
                    "credentialNumber": "FA-EDITED",
                }
            }
        if self.field == "deleteCredential":
            return {"id": credential_id, "confirm": self.confirm}
        return {"id": credential_id}


ACTIONS = {
    "approve": Action(APPROVE, "approveCredential", "credentials_manager", "APPROVED"),
    "reject": Action(REJECT, "rejectCredential", "credentials_manager", "REJECTED"),
    "add version": Action(ADD_VERSION, "addCredentialVersion", "acme_worker", "VERSION_ADDED"),
    # The holder cannot review: an edit sends a reviewed version back for review.
    # Whoever edits, correcting a rejected version resubmits it.
    "edit (holder)": Action(
        EDIT_LATEST, "editLatestCredentialVersion", "acme_worker", "VERSION_EDITED"
    ),
    # The admin could have approved it: an approved version stays approved.
    "edit (reviewer)": Action(
        EDIT_LATEST, "editLatestCredentialVersion", "admin", "VERSION_EDITED"
    ),
    "archive": Action(ARCHIVE, "archiveCredential", "credentials_manager", "ARCHIVED"),
    "restore": Action(RESTORE, "restoreCredential", "credentials_manager", "RESTORED"),
    "delete, confirmed": Action(DELETE, "deleteCredential", "credentials_manager", "DELETED"),
    "delete, unconfirmed": Action(
        DELETE, "deleteCredential", "credentials_manager", "DELETED", confirm=False
    ),
}

Result = tuple[ApprovalStatus, bool, int] | None  # latest status, archived, versions; GONE

# fmt: off
TRANSITIONS: list[tuple[ApprovalStatus, bool, str, str, Result]] = [
    # latest   archived  action                 outcome                  (then: latest, archived, #)
    (PENDING,  LIVE,     "approve",             OK,                      (APPROVED, LIVE,     1)),
    (PENDING,  LIVE,     "reject",              OK,                      (REJECTED, LIVE,     1)),
    (PENDING,  LIVE,     "add version",         OK,                      (PENDING,  LIVE,     2)),
    (PENDING,  LIVE,     "edit (holder)",       OK,                      (PENDING,  LIVE,     1)),
    (PENDING,  LIVE,     "edit (reviewer)",     OK,                      (PENDING,  LIVE,     1)),
    (PENDING,  LIVE,     "archive",             OK,                      (PENDING,  ARCHIVED, 1)),
    (PENDING,  LIVE,     "restore",             "NOT_ARCHIVED",          (PENDING,  LIVE,     1)),
    (PENDING,  LIVE,     "delete, confirmed",   "NOT_ARCHIVED",          (PENDING,  LIVE,     1)),
    (PENDING,  LIVE,     "delete, unconfirmed", "NOT_ARCHIVED",          (PENDING,  LIVE,     1)),

    (APPROVED, LIVE,     "approve",             "NOT_PENDING",           (APPROVED, LIVE,     1)),
    (APPROVED, LIVE,     "reject",              "NOT_PENDING",           (APPROVED, LIVE,     1)),
    (APPROVED, LIVE,     "add version",         OK,                      (PENDING,  LIVE,     2)),
    (APPROVED, LIVE,     "edit (holder)",       OK,                      (PENDING,  LIVE,     1)),
    (APPROVED, LIVE,     "edit (reviewer)",     OK,                      (APPROVED, LIVE,     1)),
    (APPROVED, LIVE,     "archive",             OK,                      (APPROVED, ARCHIVED, 1)),
    (APPROVED, LIVE,     "restore",             "NOT_ARCHIVED",          (APPROVED, LIVE,     1)),
    (APPROVED, LIVE,     "delete, confirmed",   "NOT_ARCHIVED",          (APPROVED, LIVE,     1)),
    (APPROVED, LIVE,     "delete, unconfirmed", "NOT_ARCHIVED",          (APPROVED, LIVE,     1)),

    (REJECTED, LIVE,     "approve",             "NOT_PENDING",           (REJECTED, LIVE,     1)),
    (REJECTED, LIVE,     "reject",              "NOT_PENDING",           (REJECTED, LIVE,     1)),
    (REJECTED, LIVE,     "add version",         OK,                      (PENDING,  LIVE,     2)),
    (REJECTED, LIVE,     "edit (holder)",       OK,                      (PENDING,  LIVE,     1)),
    (REJECTED, LIVE,     "edit (reviewer)",     OK,                      (PENDING,  LIVE,     1)),
    (REJECTED, LIVE,     "archive",             OK,                      (REJECTED, ARCHIVED, 1)),
    (REJECTED, LIVE,     "restore",             "NOT_ARCHIVED",          (REJECTED, LIVE,     1)),
    (REJECTED, LIVE,     "delete, confirmed",   "NOT_ARCHIVED",          (REJECTED, LIVE,     1)),
    (REJECTED, LIVE,     "delete, unconfirmed", "NOT_ARCHIVED",          (REJECTED, LIVE,     1)),

    (PENDING,  ARCHIVED, "approve",             "ARCHIVED",              (PENDING,  ARCHIVED, 1)),
    (PENDING,  ARCHIVED, "reject",              "ARCHIVED",              (PENDING,  ARCHIVED, 1)),
    (PENDING,  ARCHIVED, "add version",         "ARCHIVED",              (PENDING,  ARCHIVED, 1)),
    (PENDING,  ARCHIVED, "edit (holder)",       "ARCHIVED",              (PENDING,  ARCHIVED, 1)),
    (PENDING,  ARCHIVED, "edit (reviewer)",     "ARCHIVED",              (PENDING,  ARCHIVED, 1)),
    (PENDING,  ARCHIVED, "archive",             "ARCHIVED",              (PENDING,  ARCHIVED, 1)),
    (PENDING,  ARCHIVED, "restore",             OK,                      (PENDING,  LIVE,     1)),
    (PENDING,  ARCHIVED, "delete, confirmed",   OK,                      GONE),
    (PENDING,  ARCHIVED, "delete, unconfirmed", "CONFIRMATION_REQUIRED", (PENDING,  ARCHIVED, 1)),

    (APPROVED, ARCHIVED, "approve",             "ARCHIVED",              (APPROVED, ARCHIVED, 1)),
    (APPROVED, ARCHIVED, "reject",              "ARCHIVED",              (APPROVED, ARCHIVED, 1)),
    (APPROVED, ARCHIVED, "add version",         "ARCHIVED",              (APPROVED, ARCHIVED, 1)),
    (APPROVED, ARCHIVED, "edit (holder)",       "ARCHIVED",              (APPROVED, ARCHIVED, 1)),
    (APPROVED, ARCHIVED, "edit (reviewer)",     "ARCHIVED",              (APPROVED, ARCHIVED, 1)),
    (APPROVED, ARCHIVED, "archive",             "ARCHIVED",              (APPROVED, ARCHIVED, 1)),
    (APPROVED, ARCHIVED, "restore",             OK,                      (APPROVED, LIVE,     1)),
    (APPROVED, ARCHIVED, "delete, confirmed",   OK,                      GONE),
    (APPROVED, ARCHIVED, "delete, unconfirmed", "CONFIRMATION_REQUIRED", (APPROVED, ARCHIVED, 1)),

    (REJECTED, ARCHIVED, "approve",             "ARCHIVED",              (REJECTED, ARCHIVED, 1)),
    (REJECTED, ARCHIVED, "reject",              "ARCHIVED",              (REJECTED, ARCHIVED, 1)),
    (REJECTED, ARCHIVED, "add version",         "ARCHIVED",              (REJECTED, ARCHIVED, 1)),
    (REJECTED, ARCHIVED, "edit (holder)",       "ARCHIVED",              (REJECTED, ARCHIVED, 1)),
    (REJECTED, ARCHIVED, "edit (reviewer)",     "ARCHIVED",              (REJECTED, ARCHIVED, 1)),
    (REJECTED, ARCHIVED, "archive",             "ARCHIVED",              (REJECTED, ARCHIVED, 1)),
    (REJECTED, ARCHIVED, "restore",             OK,                      (REJECTED, LIVE,     1)),
    (REJECTED, ARCHIVED, "delete, confirmed",   OK,                      GONE),
    (REJECTED, ARCHIVED, "delete, unconfirmed", "CONFIRMATION_REQUIRED", (REJECTED, ARCHIVED, 1)),
]
# fmt: on


def _cell_id(status: ApprovalStatus, archived: bool, action: str) -> str:
    return f"{status.value.lower()} {'archived' if archived else 'live'}: {action}"


def _result(state: CredentialState | None) -> Result:
    if state is None:
        return GONE
    return (state.latest.approval_status, state.archived, len(state.versions))


def test_the_table_covers_every_action_from_every_state() -> None:
    cells = [(status, archived, action) for status, archived, action, _, _ in TRANSITIONS]
    assert sorted(cells) == sorted(
        (status, archived, action)
        for status in ApprovalStatus
        for archived in (LIVE, ARCHIVED)
        for action in ACTIONS
    )


@pytest.mark.parametrize(
    ("status", "archived", "action_name", "outcome", "after"),
    [pytest.param(*row, id=_cell_id(*row[:3])) for row in TRANSITIONS],
)
async def test_transition(
    status: ApprovalStatus,
    archived: bool,
    action_name: str,
    outcome: str,
    after: Result,
    graphql: GraphQLClient,
    database: Database,
    world: World,
) -> None:
    # given acme_worker's credential whose only version is `status`, maybe archived
    async with seeding(database, world) as seed:
        credential_id = await seed.credential(
            "acme_worker", await seed.credential_type(), status=status, archived=archived
        )
    start = await credential_state(database, credential_id)
    assert start is not None
    before = await read_tables(database)
    events_before = await event_kinds(database)
    action = ACTIONS[action_name]

    # when someone allowed to take the action takes it
    body = await graphql.execute(
        action.document,
        action.variables(global_id("Credential", credential_id), start.revision),
        token=world.token(action.actor),
    )

    # then it is done, or refused with the state's code and nothing changed
    payload = body["data"][action.field]
    errors = payload["errors"]
    assert [e["code"] for e in errors] == ([] if outcome == OK else [outcome])
    state = await credential_state(database, credential_id)
    assert _result(state) == after
    if outcome != OK:
        assert await read_tables(database) == before
        if outcome == "ARCHIVED" and action_name != "archive":
            assert "restore it" in errors[0]["message"]
        return
    assert await event_kinds(database) == [*events_before, (action.event, credential_id)]
    if state is not None:
        # A reason stays exactly as long as the version is rejected.
        reason = state.latest.rejection_reason
        assert (reason is not None) is (state.latest.approval_status is REJECTED)


@pytest.mark.parametrize("status", list(ApprovalStatus))
async def test_the_api_reports_the_state_it_left(
    status: ApprovalStatus, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given an archived credential whose latest of two versions is `status`
    async with seeding(database, world) as seed:
        credential_id = await seed.credential("acme_worker", await seed.credential_type())
        await seed.approve(credential_id)
        await seed.add_version(credential_id)
        if status is APPROVED:
            await seed.approve(credential_id)
        elif status is REJECTED:
            await seed.reject(credential_id)
        await seed.archive(credential_id)
    credential = global_id("Credential", credential_id)

    # when it is restored and read back
    restored = await graphql.execute(
        RESTORE, {"id": credential}, token=world.token("credentials_manager")
    )
    body = await graphql.execute(STATE, {"id": credential}, token=world.token("acme_worker"))

    # then it is live again with its history untouched; the holder reads any reason
    assert restored["data"]["restoreCredential"]["errors"] == []
    read = body["data"]["credential"]
    assert read["archived"] is False
    assert read["latestVersion"] == {"number": 2, "approvalStatus": status.value}
    assert [(v["number"], v["approvalStatus"]) for v in read["versions"]] == [
        (2, status.value),
        (1, "APPROVED"),
    ]
    reasons = [v["rejectionReason"] for v in read["versions"]]
    assert reasons == [REASON if status is REJECTED else None, None]


async def test_a_restore_is_refused_while_another_live_credential_of_the_type_exists(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given an archived credential and, since, a live one of the same type for the holder
    async with seeding(database, world) as seed:
        type_id = await seed.credential_type()
        archived_id = await seed.credential("acme_worker", type_id, archived=True)
        await seed.credential("acme_worker", type_id, number="FA-NEW")
    before = await read_tables(database)

    # when the archived one is restored
    body = await graphql.execute(
        RESTORE,
        {"id": global_id("Credential", archived_id)},
        token=world.token("credentials_manager"),
    )

    # then DUPLICATE_CREDENTIAL, and it stays archived
    [error] = body["data"]["restoreCredential"]["errors"]
    assert error["code"] == "DUPLICATE_CREDENTIAL"
    assert "archive that one first" in error["message"]
    assert await read_tables(database) == before


async def test_approval_is_final_but_a_renewal_is_reviewed_afresh(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given an approved credential
    async with seeding(database, world) as seed:
        credential_id = await seed.credential(
            "acme_worker", await seed.credential_type(), status=APPROVED
        )
    credential = global_id("Credential", credential_id)
    reviewer = world.token("credentials_manager")

    # when it is approved again, then renewed, then the renewal approved
    again = await graphql.execute(APPROVE, {"id": credential}, token=reviewer)
    renewed = await graphql.execute(
        ADD_VERSION,
        ACTIONS["add version"].variables(credential, 0),
        token=world.token("acme_worker"),
    )
    renewal_approved = await graphql.execute(APPROVE, {"id": credential}, token=reviewer)

    # then the second approval is NOT_PENDING ("final"), and the renewal gets its own review
    [error] = again["data"]["approveCredential"]["errors"]
    assert error["code"] == "NOT_PENDING"
    assert "final" in error["message"]
    assert renewed["data"]["addCredentialVersion"]["errors"] == []
    assert renewal_approved["data"]["approveCredential"]["errors"] == []
    state = await credential_state(database, credential_id)
    assert state is not None
    assert [v.approval_status for v in state.versions] == [APPROVED, APPROVED]
