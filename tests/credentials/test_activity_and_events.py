"""What every change leaves behind: activity rows per version (who, when, which field, old
and new value) and one event per state change in credential_events, written in the same
transaction as the change; a refused change leaves neither, and a deleted credential
leaves its events and an audit entry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from models.activity import CredentialActivity
from models.audit import AuditEntry
from models.credential import CredentialVersion
from models.event import CredentialEvent
from models.tenancy import unscoped
from server.database import Database
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient, client_on
from tests.credentials.factories import create_type, global_id, local_key
from tests.world import World

ENTRY_FIELDS = "action field oldValue newValue versionNumber at actor { id }"
ACTIVITY = f"""
query Activity($id: ID!) {{
  credential(id: $id) {{
    activity {{ {ENTRY_FIELDS} }}
    versions {{ id number activity {{ {ENTRY_FIELDS} }} }}
  }}
}}
"""
PAYLOAD = """
credential { id revision updatedAt latestVersion { id number approvalStatus } }
errors { code field message }
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
DELETE = """
mutation Delete($id: ID!, $confirm: Boolean!) {
  deleteCredential(id: $id, confirm: $confirm) { deletedId errors { code field message } }
}
"""
CREDENTIAL = "query Credential($id: ID!) { credential(id: $id) { id } }"
VERSION_NODE = "query VersionNode($id: ID!) { node(id: $id) { id } }"

FIRST_AID = "First aid certificate"
ISSUED, EXPIRES = "2026-01-15", "2029-01-15"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[GraphQLClient]:
    async with client_on(settings, TestClock(START, step=timedelta(seconds=1))) as client:
        yield client


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


def _create_input(type_id: str, holder_id: int, **fields: Any) -> dict[str, Any]:
    details = {"issueDate": ISSUED, "expiryDate": EXPIRES, **fields}
    return {"typeId": type_id, "holderId": global_id("User", holder_id), **details}


@dataclass(frozen=True)
class Tables:
    """The rows a credential change may write, as plain tuples."""

    events: list[tuple[Any, ...]]
    activity: list[tuple[Any, ...]]
    versions: list[tuple[Any, ...]]
    audit: list[tuple[Any, ...]]


async def _tables(database: Database) -> Tables:
    async with database.read(unscoped()) as session:
        events = await session.scalars(select(CredentialEvent).order_by(CredentialEvent.id))
        activity = await session.scalars(select(CredentialActivity).order_by(CredentialActivity.id))
        versions = await session.scalars(select(CredentialVersion).order_by(CredentialVersion.id))
        audit = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return Tables(
            events=[
                (e.id, e.kind.value, e.credential_id, e.version_id, e.actor_id) for e in events
            ],
            activity=[(a.id, a.action.value, a.field, a.old_value, a.new_value) for a in activity],
            versions=[
                (v.id, v.credential_id, v.number, v.approval_status.value, v.updated_at)
                for v in versions
            ],
            audit=[(a.id, a.action, a.details) for a in audit],
        )


async def _events(database: Database) -> list[CredentialEvent]:
    async with database.read(unscoped()) as session:
        return list(await session.scalars(select(CredentialEvent).order_by(CredentialEvent.id)))


@dataclass(frozen=True)
class Step:
    """One change of the lifecycle below: who made it, and what it should leave behind."""

    role: str
    document: str
    variables: dict[str, Any]
    # (action, field, old value, new value, version number) of each activity row
    activity: list[tuple[str, str | None, str | None, str | None, int | None]]
    # (kind, version number, data) of the event
    event: tuple[str, int | None, dict[str, Any]]


def _lifecycle(credential_id: str) -> list[Step]:
    """Reject, correct, approve, renew, approve, archive, restore: every kind of change."""
    return [
        Step(
            "credentials_manager",
            REJECT,
            {"id": credential_id, "reason": "The scan is blurred."},
            [
                ("REJECTED", "approvalStatus", "PENDING", "REJECTED", 1),
                ("FIELD_CHANGED", "rejectionReason", None, "The scan is blurred.", 1),
            ],
            ("REJECTED", 1, {"reason": "The scan is blurred."}),
        ),
        Step(
            "employee",
            EDIT,
            {
                "input": {
                    "credentialId": credential_id,
                    "expectedRevision": 2,
                    "expiryDate": "2029-01-20",
                    "credentialNumber": "FA-2",
                }
            },
            [
                ("FIELD_CHANGED", "expiryDate", EXPIRES, "2029-01-20", 1),
                ("FIELD_CHANGED", "credentialNumber", "FA-1", "FA-2", 1),
                ("FIELD_CHANGED", "approvalStatus", "REJECTED", "PENDING", 1),
            ],
            ("VERSION_EDITED", 1, {"fields": ["expiry_date", "credential_number"]}),
        ),
        Step(
            "credentials_manager",
            APPROVE,
            {"id": credential_id},
            [("APPROVED", "approvalStatus", "PENDING", "APPROVED", 1)],
            ("APPROVED", 1, {}),
        ),
        Step(
            "employee",
            ADD,
            {
                "input": {
                    "credentialId": credential_id,
                    "issueDate": "2029-01-10",
                    "expiryDate": "2032-01-10",
                    "credentialNumber": "FA-2",
                }
            },
            [
                ("VERSION_ADDED", None, None, "2", 2),
                ("FIELD_CHANGED", "issueDate", ISSUED, "2029-01-10", 2),
                ("FIELD_CHANGED", "expiryDate", "2029-01-20", "2032-01-10", 2),
            ],
            ("VERSION_ADDED", 2, {}),
        ),
        Step(
            "credentials_manager",
            APPROVE,
            {"id": credential_id},
            [("APPROVED", "approvalStatus", "PENDING", "APPROVED", 2)],
            ("APPROVED", 2, {}),
        ),
        Step(
            "admin",
            ARCHIVE,
            {"id": credential_id},
            [("ARCHIVED", None, None, None, None)],
            ("ARCHIVED", None, {}),
        ),
        Step(
            "admin",
            RESTORE,
            {"id": credential_id},
            [("RESTORED", None, None, None, None)],
            ("RESTORED", None, {}),
        ),
    ]


SUBMISSION = Step(
    "employee",
    CREATE,
    {},
    [
        ("CREATED", None, None, None, 1),
        ("FIELD_CHANGED", "issueDate", None, ISSUED, 1),
        ("FIELD_CHANGED", "expiryDate", None, EXPIRES, 1),
        ("FIELD_CHANGED", "credentialNumber", None, "FA-1", 1),
    ],
    ("SUBMITTED", 1, {}),
)


@dataclass
class Run:
    """A credential taken through the lifecycle, and the instant of each step."""

    credential_id: str
    type_id: str
    steps: list[Step]
    instants: list[str]


@pytest.fixture
async def lifecycle(client: GraphQLClient, world: World) -> Run:
    """The employee submits a credential, which then goes through `_lifecycle`."""
    type_id = await create_type(client, world.token("admin"), name=FIRST_AID)
    created = _ok(
        await _mutate(
            client,
            CREATE,
            world.token("employee"),
            input=_create_input(type_id, world.user_ids["employee"], credentialNumber="FA-1"),
        )
    )
    run = Run(created["id"], type_id, [SUBMISSION], [created["updatedAt"]])
    for step in _lifecycle(created["id"]):
        credential = _ok(
            await _mutate(client, step.document, world.token(step.role), **step.variables)
        )
        run.steps.append(step)
        run.instants.append(credential["updatedAt"])
    return run


# Activity -----------------------------------------------------------------------------


async def test_every_change_is_recorded_in_order_with_who_when_and_what(
    client: GraphQLClient, world: World, lifecycle: Run
) -> None:
    # given a credential taken through its whole lifecycle
    # when its activity is read
    body = await client.execute(
        ACTIVITY, {"id": lifecycle.credential_id}, token=world.token("admin")
    )
    activity = body["data"]["credential"]["activity"]
    # then every change is there, in order, by whom and when it was made
    expected = [
        {
            "action": action,
            "field": field,
            "oldValue": old,
            "newValue": new,
            "versionNumber": number,
            "at": at,
            "actor": {"id": global_id("User", world.user_ids[step.role])},
        }
        for step, at in zip(lifecycle.steps, lifecycle.instants, strict=True)
        for action, field, old, new, number in step.activity
    ]
    assert activity == expected


async def test_a_versions_activity_is_its_own(
    client: GraphQLClient, world: World, lifecycle: Run
) -> None:
    # given a renewed credential taken through its lifecycle
    # when the activity of each version is read
    body = await client.execute(
        ACTIVITY, {"id": lifecycle.credential_id}, token=world.token("admin")
    )
    credential = body["data"]["credential"]
    by_version = {v["number"]: v["activity"] for v in credential["versions"]}
    # then each has its own rows, in order; the credential's actions belong to neither
    assert sorted(by_version) == [1, 2]
    for number, rows in by_version.items():
        assert rows == [e for e in credential["activity"] if e["versionNumber"] == number]
    assert [e["action"] for e in credential["activity"] if e["versionNumber"] is None] == [
        "ARCHIVED",
        "RESTORED",
    ]


# Events -------------------------------------------------------------------------------


async def test_every_state_change_writes_its_event(
    client: GraphQLClient, world: World, database: Database, lifecycle: Run
) -> None:
    # given a credential taken through its whole lifecycle
    body = await client.execute(
        ACTIVITY, {"id": lifecycle.credential_id}, token=world.token("admin")
    )
    version_ids = {v["number"]: local_key(v["id"]) for v in body["data"]["credential"]["versions"]}
    # when the event log is read
    events = await _events(database)
    # then there is one event per change, in order, saying what changed, whose and by whom
    expected = [
        {
            "organization_id": world.north_id,
            "kind": kind,
            "credential_id": local_key(lifecycle.credential_id),
            "version_id": version_ids[number] if number is not None else None,
            "holder_id": world.user_ids["employee"],
            "type_id": local_key(lifecycle.type_id),
            "actor_id": world.user_ids[step.role],
            "occurred_at": datetime.fromisoformat(at),
            "data": data,
        }
        for step, at in zip(lifecycle.steps, lifecycle.instants, strict=True)
        for kind, number, data in [step.event]
    ]
    assert [
        {
            "organization_id": e.organization_id,
            "kind": e.kind.value,
            "credential_id": e.credential_id,
            "version_id": e.version_id,
            "holder_id": e.holder_id,
            "type_id": e.type_id,
            "actor_id": e.actor_id,
            "occurred_at": e.occurred_at,
            "data": e.data,
        }
        for e in events
    ] == expected


async def test_an_edit_that_changes_nothing_writes_nothing(
    client: GraphQLClient, world: World, database: Database
) -> None:
    # given a credential
    holder = world.token("employee")
    type_id = await create_type(client, world.token("admin"), name=FIRST_AID)
    credential = _ok(
        await _mutate(
            client, CREATE, holder, input=_create_input(type_id, world.user_ids["employee"])
        )
    )
    before = await _tables(database)
    # when its latest version is "edited" to the values it has
    edit = {"credentialId": credential["id"], "expectedRevision": credential["revision"]}
    edited = _ok(
        await _mutate(
            client, EDIT, holder, input={**edit, "issueDate": ISSUED, "expiryDate": EXPIRES}
        )
    )
    # then nothing is written, and the revision stays
    assert edited["revision"] == credential["revision"]
    assert await _tables(database) == before


@dataclass(frozen=True)
class Refusal:
    role: str
    document: str
    variables: dict[str, Any]
    code: str


def _refusals(credential: dict[str, Any], type_id: str, world: World) -> dict[str, Refusal]:
    """Changes refused on a pending credential the employee submitted."""
    cid, revision = credential["id"], credential["revision"]
    return {
        "approve own": Refusal("employee", APPROVE, {"id": cid}, "OWN_CREDENTIAL"),
        "approve unseen": Refusal("bolt_worker", APPROVE, {"id": cid}, "NOT_FOUND"),
        "approve unpermitted": Refusal("users_manager", APPROVE, {"id": cid}, "PERMISSION_DENIED"),
        "reject without reason": Refusal(
            "credentials_manager", REJECT, {"id": cid, "reason": " "}, "REQUIRED"
        ),
        "stale edit": Refusal(
            "employee",
            EDIT,
            {"input": {"credentialId": cid, "expectedRevision": revision - 1, "issueDate": None}},
            "CONFLICT",
        ),
        "invalid edit": Refusal(
            "employee",
            EDIT,
            {
                "input": {
                    "credentialId": cid,
                    "expectedRevision": revision,
                    "expiryDate": "2020-01-01",
                }
            },
            "EXPIRY_BEFORE_ISSUE",
        ),
        "stale renewal": Refusal(
            "employee",
            ADD,
            {
                "input": {
                    "credentialId": cid,
                    "expectedRevision": revision + 1,
                    "issueDate": "2029-01-10",
                    "expiryDate": "2032-01-10",
                }
            },
            "CONFLICT",
        ),
        "invalid renewal": Refusal(
            "employee",
            ADD,
            {"input": {"credentialId": cid, "expiryDate": "2032-01-10"}},
            "REQUIRED",
        ),
        "duplicate": Refusal(
            "admin",
            CREATE,
            {"input": _create_input(type_id, world.user_ids["employee"])},
            "DUPLICATE_CREDENTIAL",
        ),
        "archive unpermitted": Refusal("employee", ARCHIVE, {"id": cid}, "PERMISSION_DENIED"),
        "restore live": Refusal("admin", RESTORE, {"id": cid}, "NOT_ARCHIVED"),
        "delete live": Refusal("admin", DELETE, {"id": cid, "confirm": True}, "NOT_ARCHIVED"),
    }


def _archived_refusals(credential: dict[str, Any]) -> dict[str, Refusal]:
    """Changes refused on the same credential once archived."""
    cid, revision = credential["id"], credential["revision"]
    return {
        "edit archived": Refusal(
            "employee",
            EDIT,
            {"input": {"credentialId": cid, "expectedRevision": revision, "credentialNumber": "X"}},
            "ARCHIVED",
        ),
        "renew archived": Refusal(
            "employee",
            ADD,
            {"input": {"credentialId": cid, "issueDate": "2029-01-10", "expiryDate": "2032-01-10"}},
            "ARCHIVED",
        ),
        "approve archived": Refusal("credentials_manager", APPROVE, {"id": cid}, "ARCHIVED"),
        "archive twice": Refusal("admin", ARCHIVE, {"id": cid}, "ARCHIVED"),
        "delete unconfirmed": Refusal(
            "admin", DELETE, {"id": cid, "confirm": False}, "CONFIRMATION_REQUIRED"
        ),
        "delete unpermitted": Refusal(
            "employee", DELETE, {"id": cid, "confirm": True}, "PERMISSION_DENIED"
        ),
    }


async def _refuse_all(
    client: GraphQLClient, world: World, refusals: dict[str, Refusal]
) -> dict[str, str]:
    codes = {}
    for case, refusal in refusals.items():
        payload = await _mutate(
            client, refusal.document, world.token(refusal.role), **refusal.variables
        )
        codes[case] = payload["errors"][0]["code"] if payload["errors"] else "OK"
    return codes


async def test_a_refused_change_writes_no_event_and_no_activity(
    client: GraphQLClient, world: World, database: Database
) -> None:
    # given a pending credential the employee submitted
    type_id = await create_type(client, world.token("admin"), name=FIRST_AID)
    credential = _ok(
        await _mutate(
            client,
            CREATE,
            world.token("employee"),
            input=_create_input(type_id, world.user_ids["employee"]),
        )
    )
    before = await _tables(database)
    # when each change of the table is tried, and refused
    refusals = _refusals(credential, type_id, world)
    codes = await _refuse_all(client, world, refusals)
    # then each is refused with its code, and no table changed
    assert codes == {case: refusal.code for case, refusal in refusals.items()}
    assert await _tables(database) == before

    # given the credential archived
    archived = _ok(await _mutate(client, ARCHIVE, world.token("admin"), id=credential["id"]))
    before = await _tables(database)
    # when each change refused on an archived credential is tried
    refusals = _archived_refusals(archived)
    codes = await _refuse_all(client, world, refusals)
    # then each is refused with its code, and no table changed
    assert codes == {case: refusal.code for case, refusal in refusals.items()}
    assert await _tables(database) == before


@contextmanager
def _failing(statement_prefix: str) -> Iterator[None]:
    """Makes every statement that starts with `statement_prefix` fail, on any engine."""

    def fail(_: Any, __: Any, statement: str, *___: Any) -> None:
        if statement.startswith(statement_prefix):
            raise RuntimeError(f"refusing {statement_prefix!r} for the test")

    event.listen(Engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("change", ["renew", "approve"])
async def test_a_change_whose_event_cannot_be_written_is_not_saved(
    client: GraphQLClient,
    world: World,
    database: Database,
    change: str,
) -> None:
    # given a pending credential, and an event log that cannot be written to
    type_id = await create_type(client, world.token("admin"), name=FIRST_AID)
    credential = _ok(
        await _mutate(
            client,
            CREATE,
            world.token("employee"),
            input=_create_input(type_id, world.user_ids["employee"]),
        )
    )
    before = await _tables(database)
    # when it is renewed or approved
    with _failing("INSERT INTO credential_events"):
        if change == "renew":
            renewal = {"credentialId": credential["id"], "issueDate": "2029-01-10"}
            body = await client.execute(
                ADD, {"input": {**renewal, "expiryDate": "2032-01-10"}}, world.token("employee")
            )
        else:
            body = await client.execute(
                APPROVE, {"id": credential["id"]}, world.token("credentials_manager")
            )
    # then it fails as a whole: neither the change nor its activity is saved
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await _tables(database) == before


# Permanent deletion -------------------------------------------------------------------


async def test_a_deleted_credential_leaves_its_events_and_an_audit_entry_only(
    client: GraphQLClient, world: World, database: Database, lifecycle: Run
) -> None:
    # given a credential taken through its lifecycle, another credential, and both archived
    admin = world.token("admin")
    body = await client.execute(ACTIVITY, {"id": lifecycle.credential_id}, token=admin)
    version_ids = [v["id"] for v in body["data"]["credential"]["versions"]]
    other = _ok(
        await _mutate(
            client,
            CREATE,
            admin,
            input=_create_input(lifecycle.type_id, world.user_ids["acme_worker"]),
        )
    )
    _ok(await _mutate(client, ARCHIVE, admin, id=lifecycle.credential_id))
    before = await _tables(database)
    deleted_key = local_key(lifecycle.credential_id)

    # when the admin deletes the first permanently
    payload = await _mutate(client, DELETE, admin, id=lifecycle.credential_id, confirm=True)

    # then it is gone, with its versions and activity
    assert payload == {"deletedId": lifecycle.credential_id, "errors": []}
    body = await client.execute(CREDENTIAL, {"id": lifecycle.credential_id}, token=admin)
    assert body["data"]["credential"] is None
    for version_id in version_ids:
        body = await client.execute(VERSION_NODE, {"id": version_id}, token=admin)
        assert body["data"]["node"] is None
    after = await _tables(database)
    assert [v for v in after.versions if v[1] == deleted_key] == []
    assert after.versions == [v for v in before.versions if v[1] != deleted_key]
    async with database.read(unscoped()) as session:
        left = await session.scalars(
            select(CredentialActivity.credential_id).order_by(CredentialActivity.id)
        )
        assert set(left) == {local_key(other["id"])}

    # and its events stay, followed by a DELETED event
    assert after.events[:-1] == before.events
    events = await _events(database)
    deleted = events[-1]
    assert (
        deleted.kind.value,
        deleted.organization_id,
        deleted.credential_id,
        deleted.version_id,
        deleted.holder_id,
        deleted.type_id,
        deleted.actor_id,
    ) == (
        "DELETED",
        world.north_id,
        deleted_key,
        None,
        world.user_ids["employee"],
        local_key(lifecycle.type_id),
        world.user_ids["admin"],
    )
    assert [e.kind.value for e in events if e.credential_id == deleted_key] == [
        "SUBMITTED",
        "REJECTED",
        "VERSION_EDITED",
        "APPROVED",
        "VERSION_ADDED",
        "APPROVED",
        "ARCHIVED",
        "RESTORED",
        "ARCHIVED",
        "DELETED",
    ]

    # and an audit entry names what was deleted, whose it was, and who deleted it
    async with database.read(unscoped()) as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.organization_id, entry.action, entry.actor_id, entry.at) == (
        world.north_id,
        "CREDENTIAL_DELETED",
        world.user_ids["admin"],
        deleted.occurred_at,
    )
    assert entry.details == {
        "credential_id": deleted_key,
        "type_id": local_key(lifecycle.type_id),
        "type_name": FIRST_AID,
        "holder_id": world.user_ids["employee"],
        "holder_name": "Employee",
        "holder_email": "employee@example.com",
        "versions": 2,
    }
