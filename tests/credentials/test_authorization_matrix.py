"""Who may do what with credentials and webhooks: every operation by every caller, one table.

POLICY below is the whole access policy at a glance (services/credentials/policy.py states
it in code). Each cell starts from a fresh database holding the world's roles
(tests/world.py), one more company manager (of Bolt, not Acme) and the state its operation
needs. An allowed call must have had its effect, read back from the tables; a refused one
must answer with the exact code and change nothing at all, not even the event log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx
import pytest

from models import ApprovalStatus
from models.delivery import DeliveryKind
from models.webhook import WebhookEndpointStatus
from server.database import Database
from server.settings import Settings
from services.delivery.webhook.payload import event_cursor
from tests.conftest import GraphQLClient
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import (
    FIRST_AID,
    FORKLIFT,
    OTHER_COMPANY_MANAGER,
    CredentialState,
    Tables,
    add_other_company_manager,
    credential_ids_of,
    credential_state,
    event_kinds,
    read_tables,
    saved_settings,
    seeding,
    type_names,
)
from tests.credentials.webhook_matrix import (
    NEW_HOOK_URL,
    allowing_loopback,
    deliveries_to,
    endpoint_of,
    endpoints_of,
    seed_endpoint,
    webhook_rows,
)
from tests.world import World

# Outcomes of a cell.
OK = "OK"  # done: the effect is read back
HERE = "OWN_ORGANIZATION"  # done, but in the caller's own organization only
ANON = "UNAUTHENTICATED"  # HTTP 401 before anything runs
NF = "NOT_FOUND"  # exactly as if the object did not exist
DENY = "PERMISSION_DENIED"
OWN = "OWN_CREDENTIAL"
SEEN = "SEEN"  # reads: the credential is there
NULL = "NULL"  # reads: null / absent, as if it did not exist
SHOW = "SHOWN"  # credentialNumber and rejectionReason: both given
MASK = "MASKED"  # both null on a credential the caller does see
FORB = "FORBIDDEN"  # reads: refused as a whole, with a top-level error

ROLES = (
    "anonymous",
    "acme_worker",  # the holder of the credential the operations act on
    "bolt_worker",
    "employee",
    "users_manager",
    "credentials_manager",
    "company_manager",  # manages Acme, the holder's company
    OTHER_COMPANY_MANAGER,  # manages Bolt
    "bolt_contact",  # key contact of Bolt
    "south_admin",  # every permission, in another organization
)

# Columns, in the order of ROLES: anonymous, acme_worker (the holder), bolt_worker,
# employee, users_manager, credentials_manager, company_manager (Acme), the other company
# manager (Bolt), bolt_contact, south_admin.
# fmt: off
POLICY: dict[str, tuple[str, ...]] = {
    #                                anon  acme  bolt  empl  users creds acme  bolt  bolt  south
    #                                      wrkr  wrkr  oyee  mgr   mgr   cmgr  cmgr  cntct admin
    "createCredential":             (ANON, OK,   NF,   NF,   OK,   DENY, OK,   NF,   NF,   NF),
    "addCredentialVersion":         (ANON, OK,   NF,   NF,   OK,   DENY, OK,   NF,   NF,   NF),
    "editLatestCredentialVersion":  (ANON, OK,   NF,   NF,   OK,   DENY, OK,   NF,   NF,   NF),
    "approveCredential":            (ANON, OWN,  NF,   NF,   DENY, OK,   DENY, NF,   NF,   NF),
    "rejectCredential":             (ANON, OWN,  NF,   NF,   DENY, OK,   DENY, NF,   NF,   NF),
    "archiveCredential":            (ANON, DENY, NF,   NF,   OK,   OK,   OK,   NF,   NF,   NF),
    "restoreCredential":            (ANON, DENY, NF,   NF,   OK,   OK,   OK,   NF,   NF,   NF),
    "deleteCredential":             (ANON, DENY, NF,   NF,   OK,   OK,   DENY, NF,   NF,   NF),
    "archiveCredentials":           (ANON, DENY, NF,   NF,   OK,   OK,   OK,   NF,   NF,   NF),
    "restoreCredentials":           (ANON, DENY, NF,   NF,   OK,   OK,   OK,   NF,   NF,   NF),
    "deleteCredentials":            (ANON, DENY, NF,   NF,   OK,   OK,   DENY, NF,   NF,   NF),
    "createCredentialType":         (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, HERE),
    "updateCredentialType":         (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "deleteCredentialType":         (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "updateCredentialSettings":     (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, HERE),
    "credential(id)":               (ANON, SEEN, NULL, NULL, SEEN, SEEN, SEEN, NULL, NULL, NULL),
    "node(Credential id)":          (ANON, SEEN, NULL, NULL, SEEN, SEEN, SEEN, NULL, NULL, NULL),
    "node(CredentialVersion id)":   (ANON, SEEN, NULL, NULL, SEEN, SEEN, SEEN, NULL, NULL, NULL),
    "credentials list":             (ANON, SEEN, NULL, NULL, SEEN, SEEN, SEEN, NULL, NULL, NULL),
    "sensitive fields":             (ANON, SHOW, NULL, NULL, SHOW, SHOW, SHOW, NULL, NULL, NULL),
    # The same fields on bolt_worker's credential: the key contact sees it, not its details.
    "sensitive fields, Bolt's":     (ANON, NULL, SHOW, NULL, SHOW, SHOW, NULL, SHOW, MASK, NULL),
    # Webhooks: CREDENTIALS_MANAGE of the endpoint's organization (North) only.
    "webhookEndpoints":             (ANON, FORB, FORB, FORB, FORB, SEEN, FORB, FORB, FORB, NULL),
    "webhookDeliveries":            (ANON, FORB, FORB, FORB, FORB, SEEN, FORB, FORB, FORB, NULL),
    "createWebhookEndpoint":        (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, HERE),
    "updateWebhookEndpoint":        (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "deleteWebhookEndpoint":        (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "rotateWebhookSecret":          (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "pauseWebhookEndpoint":         (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "resumeWebhookEndpoint":        (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "pingWebhookEndpoint":          (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "redeliverWebhook":             (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
    "replayWebhookEndpoint":        (ANON, DENY, DENY, DENY, DENY, OK,   DENY, DENY, DENY, NF),
}
# fmt: on

ERRORS = "errors { code field message }"
CREATE = f"""
mutation Create($input: CreateCredentialInput!) {{
  createCredential(input: $input) {{ credential {{ id }} {ERRORS} }}
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
APPROVE = f"""
mutation Approve($id: ID!) {{ approveCredential(id: $id) {{ credential {{ id }} {ERRORS} }} }}
"""
REJECT = f"""
mutation Reject($id: ID!, $reason: String!) {{
  rejectCredential(id: $id, reason: $reason) {{ credential {{ id }} {ERRORS} }}
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
BULK_RESULTS = f"results {{ id ok credential {{ id }} {ERRORS} }} {ERRORS}"
ARCHIVE_MANY = f"""
mutation ArchiveMany($ids: [ID!]!) {{ archiveCredentials(ids: $ids) {{ {BULK_RESULTS} }} }}
"""
RESTORE_MANY = f"""
mutation RestoreMany($ids: [ID!]!) {{ restoreCredentials(ids: $ids) {{ {BULK_RESULTS} }} }}
"""
DELETE_MANY = f"""
mutation DeleteMany($ids: [ID!]!, $confirm: Boolean!) {{
  deleteCredentials(ids: $ids, confirm: $confirm) {{ {BULK_RESULTS} }}
}}
"""
CREATE_TYPE = f"""
mutation CreateType($input: CreateCredentialTypeInput!) {{
  createCredentialType(input: $input) {{ credentialType {{ id }} {ERRORS} }}
}}
"""
UPDATE_TYPE = f"""
mutation UpdateType($id: ID!, $input: UpdateCredentialTypeInput!) {{
  updateCredentialType(id: $id, input: $input) {{ credentialType {{ id }} {ERRORS} }}
}}
"""
DELETE_TYPE = f"""
mutation DeleteType($id: ID!) {{ deleteCredentialType(id: $id) {{ deletedId {ERRORS} }} }}
"""
UPDATE_SETTINGS = f"""
mutation UpdateSettings($input: UpdateCredentialSettingsInput!) {{
  updateCredentialSettings(input: $input) {{ settings {{ expiringSoonDays }} {ERRORS} }}
}}
"""
CREDENTIAL = "query Credential($id: ID!) { credential(id: $id) { id } }"
NODE = "query Node($id: ID!) { node(id: $id) { __typename id } }"
CREDENTIALS = """
query Credentials {
  credentials(first: 100, filter: { archived: INCLUDE }) { edges { node { id } } }
}
"""
SENSITIVE = """
query Sensitive($id: ID!) {
  credential(id: $id) { latestVersion { credentialNumber rejectionReason } }
}
"""

HOOK = "errors { code field message }"
WEBHOOK_ENDPOINTS = "query Endpoints { webhookEndpoints { id } }"
WEBHOOK_DELIVERIES = """
query Deliveries($endpointId: ID!) { webhookDeliveries(endpointId: $endpointId) { edges {
  node { id } } } }
"""
CREATE_HOOK = f"""
mutation CreateHook($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{ secret endpoint {{ id }} {HOOK} }}
}}
"""
UPDATE_HOOK = f"""
mutation UpdateHook($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{ endpoint {{ id }} {HOOK} }}
}}
"""
DELETE_HOOK = f"""
mutation DeleteHook($id: ID!) {{ deleteWebhookEndpoint(id: $id) {{ deletedId {HOOK} }} }}
"""
ROTATE_HOOK = f"""
mutation RotateHook($id: ID!) {{ rotateWebhookSecret(id: $id) {{ secret {HOOK} }} }}
"""
PAUSE_HOOK = f"""
mutation PauseHook($id: ID!) {{ pauseWebhookEndpoint(id: $id) {{ endpoint {{ id }} {HOOK} }} }}
"""
RESUME_HOOK = f"""
mutation ResumeHook($id: ID!) {{ resumeWebhookEndpoint(id: $id) {{ endpoint {{ id }} {HOOK} }} }}
"""
PING_HOOK = f"""
mutation PingHook($id: ID!) {{ pingWebhookEndpoint(id: $id) {{ delivery {{ id }} {HOOK} }} }}
"""
REDELIVER = f"""
mutation Redeliver($deliveryId: ID!) {{
  redeliverWebhook(deliveryId: $deliveryId) {{ delivery {{ id }} {HOOK} }}
}}
"""
REPLAY_HOOK = f"""
mutation ReplayHook($id: ID!, $after: String!) {{
  replayWebhookEndpoint(id: $id, after: $after) {{ queued complete {HOOK} }}
}}
"""
DESCRIBED = "Payroll system"
FROM_THE_START = event_cursor(0)

NEW_TYPE_NAME = "Working at heights"
RENAMED = "First aid (level 2)"
SOON_DAYS = 45


class Start(Enum):
    """What the holder (acme_worker unless said otherwise) holds when the operation runs."""

    NOTHING = "no credential yet"
    PENDING = "a pending credential"
    REJECTED = "a credential whose version was rejected"
    ARCHIVED = "an archived pending credential"
    ENDPOINT = "a pending credential, then North's webhook endpoint with a ping queued"
    PAUSED_ENDPOINT = "as ENDPOINT, the endpoint paused"


@dataclass(frozen=True)
class Seeded:
    world: World
    holder: str  # the role whose credential the operations act on
    type_id: int  # FIRST_AID: the type of the holder's credential
    spare_type_id: int  # FORKLIFT: used by no credential
    credential_id: int  # the holder's credential; 0 with Start.NOTHING
    version_id: int
    revision: int
    bolt_credential_id: int  # bolt_worker's rejected credential (when not the holder)
    endpoint_id: int = 0  # North's webhook endpoint (Start.ENDPOINT, PAUSED_ENDPOINT)
    ping_id: int = 0  # the ping queued to it

    def credential(self) -> str:
        return global_id("Credential", self.credential_id)

    def endpoint(self) -> str:
        return global_id("WebhookEndpoint", self.endpoint_id)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Webhook endpoints on loopback (never posted to here) pass the target checks."""
    return allowing_loopback(settings)


async def _seed(
    database: Database,
    world: World,
    start: Start,
    holder: str = "acme_worker",
    settings: Settings | None = None,
) -> Seeded:
    await add_other_company_manager(database, world)
    async with seeding(database, world) as seed:
        type_id = await seed.credential_type(FIRST_AID)
        spare_type_id = await seed.credential_type(FORKLIFT)
        bolt_credential_id = 0
        if holder != "bolt_worker":
            bolt_credential_id = await seed.credential(
                "bolt_worker", type_id, status=ApprovalStatus.REJECTED, number="FB-3003"
            )
        credential_id = 0
        if start is not Start.NOTHING:
            credential_id = await seed.credential(
                holder,
                type_id,
                status=ApprovalStatus.REJECTED
                if start is Start.REJECTED
                else ApprovalStatus.PENDING,
                archived=start is Start.ARCHIVED,
            )
    state = await credential_state(database, credential_id) if credential_id else None
    hook = None
    if start in (Start.ENDPOINT, Start.PAUSED_ENDPOINT):
        assert settings is not None
        paused = start is Start.PAUSED_ENDPOINT
        hook = await seed_endpoint(database, settings, world, paused=paused)
    return Seeded(
        world=world,
        holder=holder,
        type_id=type_id,
        spare_type_id=spare_type_id,
        credential_id=credential_id,
        version_id=state.latest.id if state else 0,
        revision=state.revision if state else 0,
        bolt_credential_id=bolt_credential_id,
        endpoint_id=hook.endpoint_id if hook else 0,
        ping_id=hook.ping_id if hook else 0,
    )


Effect = Callable[[Database, Seeded, Tables, int], Awaitable[None]]


async def _new_events(database: Database, before: Tables) -> list[tuple[str, int]]:
    return (await event_kinds(database))[before.count("credential_events") :]


async def _acted_on(database: Database, seeded: Seeded) -> int:
    """The credential the call acted on: the seeded one, or the one it created."""
    if seeded.credential_id:
        return seeded.credential_id
    [created] = await credential_ids_of(database, seeded.world.user_ids[seeded.holder])
    return created


def _credential_effect(kind: str, check: Callable[[Seeded, CredentialState], None]) -> Effect:
    """The credential now passes `check`, and one `kind` event was logged for it."""

    async def effect(database: Database, seeded: Seeded, before: Tables, _: int) -> None:
        credential_id = await _acted_on(database, seeded)
        state = await credential_state(database, credential_id)
        assert state is not None
        check(seeded, state)
        assert await _new_events(database, before) == [(kind, credential_id)]

    return effect


def _created(seeded: Seeded, state: CredentialState) -> None:
    assert (state.holder_id, state.type_id) == (
        seeded.world.user_ids[seeded.holder],
        seeded.type_id,
    )
    assert [(v.approval_status, v.credential_number) for v in state.versions] == [
        (ApprovalStatus.PENDING, "FA-NEW")
    ]


def _version_added(_: Seeded, state: CredentialState) -> None:
    assert [v.number for v in state.versions] == [1, 2]
    assert state.latest.credential_number == "FA-2002"
    assert state.latest.approval_status is ApprovalStatus.PENDING


def _edited(_: Seeded, state: CredentialState) -> None:
    assert [v.credential_number for v in state.versions] == ["FA-EDITED"]


def _approved(_: Seeded, state: CredentialState) -> None:
    assert state.latest.approval_status is ApprovalStatus.APPROVED


def _rejected(_: Seeded, state: CredentialState) -> None:
    assert state.latest.approval_status is ApprovalStatus.REJECTED
    assert state.latest.rejection_reason == "Expired scan."


def _archived(_: Seeded, state: CredentialState) -> None:
    assert state.archived


def _restored(_: Seeded, state: CredentialState) -> None:
    assert not state.archived


async def _deleted(database: Database, seeded: Seeded, before: Tables, _: int) -> None:
    """Gone with its versions, a DELETED event logged and an audit entry left."""
    assert await credential_state(database, seeded.credential_id) is None
    assert await _new_events(database, before) == [("DELETED", seeded.credential_id)]
    after = await read_tables(database)
    assert after.count("audit_entries") == before.count("audit_entries") + 1
    assert after.count("credential_versions") == before.count("credential_versions") - 1


async def _type_created(
    database: Database, seeded: Seeded, before: Tables, organization_id: int
) -> None:
    world = seeded.world
    others = world.south_id if organization_id == world.north_id else world.north_id
    assert NEW_TYPE_NAME in await type_names(database, organization_id)
    assert NEW_TYPE_NAME not in await type_names(database, others)


async def _type_renamed(database: Database, seeded: Seeded, before: Tables, _: int) -> None:
    assert await type_names(database, seeded.world.north_id) == [RENAMED, FORKLIFT]


async def _type_deleted(database: Database, seeded: Seeded, before: Tables, _: int) -> None:
    assert await type_names(database, seeded.world.north_id) == [FIRST_AID]


async def _settings_changed(
    database: Database, seeded: Seeded, before: Tables, organization_id: int
) -> None:
    world = seeded.world
    others = world.south_id if organization_id == world.north_id else world.north_id
    changed = await saved_settings(database, organization_id)
    assert changed is not None
    assert changed.expiring_soon_days == SOON_DAYS
    assert await saved_settings(database, others) is None


async def _hook_created(
    database: Database, seeded: Seeded, before: Tables, organization_id: int
) -> None:
    """One new endpoint, in the caller's organization only."""
    world = seeded.world
    others = world.south_id if organization_id == world.north_id else world.north_id
    assert [e.url for e in await endpoints_of(database, organization_id)][-1] == NEW_HOOK_URL
    assert NEW_HOOK_URL not in [e.url for e in await endpoints_of(database, others)]


def _hook_effect(check: Callable[[Any], bool]) -> Effect:
    """North's endpoint (None once deleted) now passes `check`."""

    async def effect(database: Database, seeded: Seeded, before: Tables, _: int) -> None:
        assert check(await endpoint_of(database, seeded.endpoint_id))

    return effect


def _deliveries_effect(check: Callable[[list[Any], Seeded], bool]) -> Effect:
    """The endpoint's deliveries (the seeded ping first) now pass `check`."""

    async def effect(database: Database, seeded: Seeded, before: Tables, _: int) -> None:
        assert check(await deliveries_to(database, seeded.endpoint_id), seeded)

    return effect


def _pinged_again(deliveries: list[Any], seeded: Seeded) -> bool:
    return [d.kind for d in deliveries] == [DeliveryKind.WEBHOOK_PING] * 2


def _redelivered(deliveries: list[Any], seeded: Seeded) -> bool:
    first, again = deliveries
    return bool(first.id == seeded.ping_id and again.payload == first.payload)


def _replayed(deliveries: list[Any], seeded: Seeded) -> bool:
    """The events logged before the endpoint existed, queued to it after the ping."""
    replayed = deliveries[1:]
    return bool(replayed) and all(d.event_id is not None for d in replayed)


@dataclass(frozen=True)
class Mutation:
    document: str
    start: Start
    variables: Callable[[Seeded], dict[str, Any]]
    effect: Effect

    @property
    def field(self) -> str:
        """The mutation's root field: the first one the document selects."""
        return self.document.split("{", 2)[1].split("(")[0].strip()


@dataclass(frozen=True)
class Read:
    document: str
    start: Start
    variables: Callable[[Seeded], dict[str, Any]]
    observe: Callable[[dict[str, Any], Seeded], str]


def _credential_input(**fields: Any) -> Callable[[Seeded], dict[str, Any]]:
    return lambda s: {"input": {"credentialId": s.credential(), **fields}}


def _hook_listed(data: dict[str, Any], seeded: Seeded) -> str:
    return SEEN if seeded.endpoint() in [e["id"] for e in data["webhookEndpoints"]] else NULL


def _hook_log(data: dict[str, Any], seeded: Seeded) -> str:
    ids = [edge["node"]["id"] for edge in data["webhookDeliveries"]["edges"]]
    return SEEN if global_id("WebhookDelivery", seeded.ping_id) in ids else NULL


def _seen(found: dict[str, Any] | None, expected_id: str, typename: str | None = None) -> str:
    if found is None:
        return NULL
    assert found["id"] == expected_id
    if typename is not None:
        assert found["__typename"] == typename
    return SEEN


def _listed(data: dict[str, Any], seeded: Seeded) -> str:
    ids = [edge["node"]["id"] for edge in data["credentials"]["edges"]]
    return SEEN if seeded.credential() in ids else NULL


def _details(data: dict[str, Any], _: Seeded) -> str:
    credential = data["credential"]
    if credential is None:
        return NULL
    latest = credential["latestVersion"]
    values = (latest["credentialNumber"], latest["rejectionReason"])
    if all(v is not None for v in values):
        return SHOW
    if all(v is None for v in values):
        return MASK
    return f"MIXED {values}"


OPERATIONS: dict[str, Mutation | Read] = {
    "createCredential": Mutation(
        CREATE,
        Start.NOTHING,
        lambda s: {
            "input": {
                "typeId": global_id("CredentialType", s.type_id),
                "holderId": global_id("User", s.world.user_ids[s.holder]),
                "issueDate": "2026-02-01",
                "expiryDate": "2029-02-01",
                "credentialNumber": "FA-NEW",
            }
        },
        _credential_effect("SUBMITTED", _created),
    ),
    "addCredentialVersion": Mutation(
        ADD_VERSION,
        Start.PENDING,
        _credential_input(
            issueDate="2026-02-01", expiryDate="2029-02-01", credentialNumber="FA-2002"
        ),
        _credential_effect("VERSION_ADDED", _version_added),
    ),
    "editLatestCredentialVersion": Mutation(
        EDIT_LATEST,
        Start.PENDING,
        lambda s: {
            "input": {
                "credentialId": s.credential(),
                "expectedRevision": s.revision,
                "credentialNumber": "FA-EDITED",
            }
        },
        _credential_effect("VERSION_EDITED", _edited),
    ),
    "approveCredential": Mutation(
        APPROVE,
        Start.PENDING,
        lambda s: {"id": s.credential()},
        _credential_effect("APPROVED", _approved),
    ),
    "rejectCredential": Mutation(
        REJECT,
        Start.PENDING,
        lambda s: {"id": s.credential(), "reason": "Expired scan."},
        _credential_effect("REJECTED", _rejected),
    ),
    "archiveCredential": Mutation(
        ARCHIVE,
        Start.PENDING,
        lambda s: {"id": s.credential()},
        _credential_effect("ARCHIVED", _archived),
    ),
    "restoreCredential": Mutation(
        RESTORE,
        Start.ARCHIVED,
        lambda s: {"id": s.credential()},
        _credential_effect("RESTORED", _restored),
    ),
    "deleteCredential": Mutation(
        DELETE,
        Start.ARCHIVED,
        lambda s: {"id": s.credential(), "confirm": True},
        _deleted,
    ),
    "archiveCredentials": Mutation(
        ARCHIVE_MANY,
        Start.PENDING,
        lambda s: {"ids": [s.credential()]},
        _credential_effect("ARCHIVED", _archived),
    ),
    "restoreCredentials": Mutation(
        RESTORE_MANY,
        Start.ARCHIVED,
        lambda s: {"ids": [s.credential()]},
        _credential_effect("RESTORED", _restored),
    ),
    "deleteCredentials": Mutation(
        DELETE_MANY,
        Start.ARCHIVED,
        lambda s: {"ids": [s.credential()], "confirm": True},
        _deleted,
    ),
    "createCredentialType": Mutation(
        CREATE_TYPE, Start.PENDING, lambda s: {"input": {"name": NEW_TYPE_NAME}}, _type_created
    ),
    "updateCredentialType": Mutation(
        UPDATE_TYPE,
        Start.PENDING,
        lambda s: {"id": global_id("CredentialType", s.type_id), "input": {"name": RENAMED}},
        _type_renamed,
    ),
    "deleteCredentialType": Mutation(
        DELETE_TYPE,
        Start.PENDING,
        lambda s: {"id": global_id("CredentialType", s.spare_type_id)},
        _type_deleted,
    ),
    "updateCredentialSettings": Mutation(
        UPDATE_SETTINGS,
        Start.PENDING,
        lambda s: {"input": {"expiringSoonDays": SOON_DAYS}},
        _settings_changed,
    ),
    "credential(id)": Read(
        CREDENTIAL,
        Start.PENDING,
        lambda s: {"id": s.credential()},
        lambda data, s: _seen(data["credential"], s.credential()),
    ),
    "node(Credential id)": Read(
        NODE,
        Start.PENDING,
        lambda s: {"id": s.credential()},
        lambda data, s: _seen(data["node"], s.credential(), "Credential"),
    ),
    "node(CredentialVersion id)": Read(
        NODE,
        Start.PENDING,
        lambda s: {"id": global_id("CredentialVersion", s.version_id)},
        lambda data, s: _seen(
            data["node"], global_id("CredentialVersion", s.version_id), "CredentialVersion"
        ),
    ),
    "credentials list": Read(CREDENTIALS, Start.ARCHIVED, lambda s: {}, _listed),
    "sensitive fields": Read(SENSITIVE, Start.REJECTED, lambda s: {"id": s.credential()}, _details),
    "sensitive fields, Bolt's": Read(
        SENSITIVE,
        Start.NOTHING,
        lambda s: {"id": global_id("Credential", s.bolt_credential_id)},
        _details,
    ),
    "webhookEndpoints": Read(WEBHOOK_ENDPOINTS, Start.ENDPOINT, lambda s: {}, _hook_listed),
    "webhookDeliveries": Read(
        WEBHOOK_DELIVERIES, Start.ENDPOINT, lambda s: {"endpointId": s.endpoint()}, _hook_log
    ),
    "createWebhookEndpoint": Mutation(
        CREATE_HOOK,
        Start.NOTHING,
        lambda s: {"input": {"url": NEW_HOOK_URL, "eventKinds": ["APPROVED"]}},
        _hook_created,
    ),
    "updateWebhookEndpoint": Mutation(
        UPDATE_HOOK,
        Start.ENDPOINT,
        lambda s: {"input": {"id": s.endpoint(), "description": DESCRIBED}},
        _hook_effect(lambda e: e.description == DESCRIBED),
    ),
    "deleteWebhookEndpoint": Mutation(
        DELETE_HOOK,
        Start.ENDPOINT,
        lambda s: {"id": s.endpoint()},
        _hook_effect(lambda e: e is None),
    ),
    "rotateWebhookSecret": Mutation(
        ROTATE_HOOK,
        Start.ENDPOINT,
        lambda s: {"id": s.endpoint()},
        _hook_effect(lambda e: e.previous_secret_until is not None),
    ),
    "pauseWebhookEndpoint": Mutation(
        PAUSE_HOOK,
        Start.ENDPOINT,
        lambda s: {"id": s.endpoint()},
        _hook_effect(lambda e: e.status is WebhookEndpointStatus.PAUSED),
    ),
    "resumeWebhookEndpoint": Mutation(
        RESUME_HOOK,
        Start.PAUSED_ENDPOINT,
        lambda s: {"id": s.endpoint()},
        _hook_effect(lambda e: e.status is WebhookEndpointStatus.ACTIVE),
    ),
    "pingWebhookEndpoint": Mutation(
        PING_HOOK, Start.ENDPOINT, lambda s: {"id": s.endpoint()}, _deliveries_effect(_pinged_again)
    ),
    "redeliverWebhook": Mutation(
        REDELIVER,
        Start.ENDPOINT,
        lambda s: {"deliveryId": global_id("WebhookDelivery", s.ping_id)},
        _deliveries_effect(_redelivered),
    ),
    "replayWebhookEndpoint": Mutation(
        REPLAY_HOOK,
        Start.ENDPOINT,
        lambda s: {"id": s.endpoint(), "after": FROM_THE_START},
        _deliveries_effect(_replayed),
    ),
}

CELLS = [
    pytest.param(operation, role, expected, id=f"{operation}-{role}")
    for operation, row in POLICY.items()
    for role, expected in zip(ROLES, row, strict=True)
]


def _unauthenticated(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return ANON


def _mutation_outcome(operation: Mutation, response: httpx.Response) -> str:
    if response.status_code == 401:
        return _unauthenticated(response)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"][operation.field]
    if "results" in payload:  # a bulk form: one result for the one id
        assert payload["errors"] == [], payload
        [result] = payload["results"]
        errors = result["errors"]
        assert result["ok"] is (not errors)
        assert (result["credential"] is None) is (bool(errors) or "delete" in operation.field)
    else:
        errors = payload["errors"]
    if not errors:
        return OK
    [error] = errors
    assert error["message"], error
    return str(error["code"])


def _read_outcome(operation: Read, response: httpx.Response, seeded: Seeded) -> str:
    if response.status_code == 401:
        return _unauthenticated(response)
    assert response.status_code == 200, response.text
    body = response.json()
    if "errors" in body:  # refused as a whole (the webhook reads): the one error's code
        [error] = body["errors"]
        assert body["data"] is None, body
        return str(error["extensions"]["code"])
    return operation.observe(body["data"], seeded)


def test_the_policy_table_names_every_operation_and_role_once() -> None:
    assert POLICY.keys() == OPERATIONS.keys()
    assert all(len(row) == len(ROLES) for row in POLICY.values())
    assert BOLT_POLICY.keys() <= OPERATIONS.keys()


@pytest.mark.parametrize(("operation_name", "role", "expected"), CELLS)
async def test_policy_cell(
    operation_name: str,
    role: str,
    expected: str,
    graphql: GraphQLClient,
    database: Database,
    world: World,
    settings: Settings,
) -> None:
    # given the state the operation needs, and every watched row as it is
    operation = OPERATIONS[operation_name]
    seeded = await _seed(database, world, operation.start, settings=settings)

    # when the role calls it (anonymous: without a token), then the outcome is the table's
    await _check_cell(operation, role, expected, seeded, graphql, database)


async def _check_cell(
    operation: Mutation | Read,
    role: str,
    expected: str,
    seeded: Seeded,
    graphql: GraphQLClient,
    database: Database,
) -> None:
    """Calls the operation as `role`: the outcome must be `expected`, an allowed change must
    have had its effect, and anything else must have changed nothing at all."""
    world = seeded.world
    before = await read_tables(database)
    hooks_before = await webhook_rows(database)
    response = await graphql.post(
        operation.document, operation.variables(seeded), token=world.tokens.get(role)
    )
    if isinstance(operation, Read):
        assert _read_outcome(operation, response, seeded) == expected
        assert await read_tables(database) == before
        assert await webhook_rows(database) == hooks_before
        return
    outcome = _mutation_outcome(operation, response)
    elsewhere = role.startswith("south")
    assert (HERE if outcome == OK and elsewhere else outcome) == expected
    if outcome == OK:
        caller_organization = world.south_id if elsewhere else world.north_id
        await operation.effect(database, seeded, before, caller_organization)
    else:
        assert await read_tables(database) == before
        assert await webhook_rows(database) == hooks_before


# The credential operations on bolt_worker's credential, by those who oversee Bolt's
# workers: its key contact sees them but may change nothing; its company manager manages
# them as Acme's does Acme's.
# fmt: off
BOLT_POLICY: dict[str, tuple[str, str]] = {
    #                               bolt_contact  other_company_manager (Bolt)
    "createCredential":             (DENY,        OK),
    "addCredentialVersion":         (DENY,        OK),
    "editLatestCredentialVersion":  (DENY,        OK),
    "approveCredential":            (DENY,        DENY),
    "rejectCredential":             (DENY,        DENY),
    "archiveCredential":            (DENY,        OK),
    "restoreCredential":            (DENY,        OK),
    "deleteCredential":             (DENY,        DENY),
    "archiveCredentials":           (DENY,        OK),
    "restoreCredentials":           (DENY,        OK),
    "deleteCredentials":            (DENY,        DENY),
    "credential(id)":               (SEEN,        SEEN),
    "sensitive fields":             (MASK,        SHOW),
}
# fmt: on


@pytest.mark.parametrize(
    ("operation_name", "role", "expected"),
    [
        pytest.param(operation, role, expected, id=f"{operation}-{role}")
        for operation, row in BOLT_POLICY.items()
        for role, expected in zip(("bolt_contact", OTHER_COMPANY_MANAGER), row, strict=True)
    ],
)
async def test_bolt_policy_cell(
    operation_name: str,
    role: str,
    expected: str,
    graphql: GraphQLClient,
    database: Database,
    world: World,
) -> None:
    # given bolt_worker's credential in the state the operation needs
    operation = OPERATIONS[operation_name]
    seeded = await _seed(database, world, operation.start, holder="bolt_worker")

    # when the role calls it, then the outcome is the table's
    await _check_cell(operation, role, expected, seeded, graphql, database)


OWN_REVIEW = {
    "approveCredential": (APPROVE, {}),
    "rejectCredential": (REJECT, {"reason": "Expired scan."}),
}


@pytest.mark.parametrize("operation_name", OWN_REVIEW)
@pytest.mark.parametrize("reviewer", ["credentials_manager", "admin"])
async def test_a_reviewer_never_reviews_their_own_credential(
    operation_name: str, reviewer: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a pending credential held by someone who may review everyone else's
    async with seeding(database, world) as seed:
        credential_id = await seed.credential(reviewer, await seed.credential_type())
    before = await read_tables(database)
    document, extra = OWN_REVIEW[operation_name]

    # when they review it themselves
    body = await graphql.execute(
        document,
        {"id": global_id("Credential", credential_id), **extra},
        token=world.token(reviewer),
    )

    # then OWN_CREDENTIAL, and the version is still pending
    payload = body["data"][operation_name]
    assert [e["code"] for e in payload["errors"]] == [OWN]
    assert payload["credential"] is None
    assert await read_tables(database) == before


def _by_id_variables(argument: str) -> Callable[[str], dict[str, Any]]:
    if argument == "credentialId":
        return lambda cid: {
            "input": {
                "credentialId": cid,
                "expectedRevision": 1,
                "issueDate": "2026-02-01",
                "expiryDate": "2029-02-01",
                "credentialNumber": "FA-X",
            }
        }
    if argument == "ids":
        return lambda cid: {"ids": [cid], "confirm": True}
    return lambda cid: {"id": cid, "confirm": True, "reason": "Expired scan."}


def _declared(variables: dict[str, Any], document: str) -> dict[str, Any]:
    """Only the variables the document declares (GraphQL refuses undeclared ones)."""
    return {name: value for name, value in variables.items() if f"${name}:" in document}


# mutation -> (document, the argument that carries the credential's id)
BY_ID: dict[str, tuple[str, str]] = {
    "addCredentialVersion": (ADD_VERSION, "credentialId"),
    "editLatestCredentialVersion": (EDIT_LATEST, "credentialId"),
    "approveCredential": (APPROVE, "id"),
    "rejectCredential": (REJECT, "id"),
    "archiveCredential": (ARCHIVE, "id"),
    "restoreCredential": (RESTORE, "id"),
    "deleteCredential": (DELETE, "id"),
    "archiveCredentials": (ARCHIVE_MANY, "ids"),
    "restoreCredentials": (RESTORE_MANY, "ids"),
    "deleteCredentials": (DELETE_MANY, "ids"),
}


async def _errors(
    graphql: GraphQLClient, mutation: str, credential_id: str, token: str
) -> list[dict[str, Any]]:
    document, argument = BY_ID[mutation]
    variables = _declared(_by_id_variables(argument)(credential_id), document)
    body = await graphql.execute(document, variables, token=token)
    assert "errors" not in body, body
    payload = body["data"][mutation]
    if argument != "ids":
        return list(payload["errors"])
    assert payload["errors"] == []
    [result] = payload["results"]
    assert result["id"] == credential_id
    return list(result["errors"])


@pytest.mark.parametrize("mutation", BY_ID)
async def test_an_unreachable_credential_answers_exactly_like_a_missing_one(
    mutation: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given, for Acme's company manager, a Bolt credential they cannot see and a credential
    # of another organization, both archived (so that no other rule could answer first)
    async with seeding(database, world) as seed:
        bolt = await seed.credential("bolt_worker", await seed.credential_type(), archived=True)
    async with seeding(database, world, "south") as seed:
        south = await seed.credential("south_worker", await seed.credential_type(), archived=True)
    token = world.token("company_manager")
    before = await read_tables(database)

    # when they act on those and on a credential that does not exist
    missing = await _errors(graphql, mutation, global_id("Credential", 999_999), token)
    invisible = await _errors(graphql, mutation, global_id("Credential", bolt), token)
    elsewhere = await _errors(graphql, mutation, global_id("Credential", south), token)

    # then all three answers are the same NOT_FOUND, and nothing changed
    assert [e["code"] for e in missing] == [NF]
    assert invisible == missing
    assert elsewhere == missing
    assert await read_tables(database) == before


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(
            mutation,
        )
        for mutation, (_, argument) in BY_ID.items()
    ],
)
async def test_not_found_names_the_argument_that_carried_the_id(
    mutation: str, graphql: GraphQLClient, world: World
) -> None:
    # given the argument through which the mutation takes the credential's id
    _, argument = BY_ID[mutation]
    token = world.token("admin")
    expected = [{"code": NF, "field": argument, "message": "Credential doesn't exist."}]

    # when the id is missing, is not a global id at all, or is another type's
    missing = await _errors(graphql, mutation, global_id("Credential", 999_999), token)
    malformed = await _errors(graphql, mutation, "not-a-global-id", token)
    other_type = await _errors(graphql, mutation, global_id("User", 1), token)

    # then each answer is the same NOT_FOUND, naming that argument
    assert malformed == expected
    assert other_type == expected
    assert missing == expected


@pytest.mark.parametrize(
    "holder",
    [
        pytest.param("missing", id="a user that does not exist"),
        pytest.param("bolt_worker", id="a worker of a company they do not manage"),
        pytest.param("south_worker", id="a user of another organization"),
        pytest.param("malformed", id="not a global id"),
        pytest.param("credential", id="a credential's id"),
    ],
)
async def test_creating_for_an_unreachable_holder_answers_like_a_missing_one(
    holder: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a credential type, and Acme's company manager
    async with seeding(database, world) as seed:
        type_id = await seed.credential_type()
        credential_id = await seed.credential("employee", type_id)
    holder_id = {
        "missing": global_id("User", 999_999),
        "malformed": "not-a-global-id",
        "credential": global_id("Credential", credential_id),
    }.get(holder) or global_id("User", world.user_ids[holder])
    before = await read_tables(database)

    # when they submit a credential for that holder
    body = await graphql.execute(
        CREATE,
        {
            "input": {
                "typeId": global_id("CredentialType", type_id),
                "holderId": holder_id,
                "issueDate": "2026-02-01",
                "expiryDate": "2029-02-01",
            }
        },
        token=world.token("company_manager"),
    )

    # then the one answer is "User doesn't exist." on holderId, and nothing changed
    assert body["data"]["createCredential"] == {
        "credential": None,
        "errors": [{"code": NF, "field": "holderId", "message": "User doesn't exist."}],
    }
    assert await read_tables(database) == before


@pytest.mark.parametrize(
    "role",
    [
        "acme_worker",
        "bolt_worker",
        "bolt_contact",
        "employee",
        "users_manager",
        "credentials_manager",
        "company_manager",
        OTHER_COMPANY_MANAGER,
        "south_admin",
    ],
)
async def test_anyone_may_submit_their_own_credential(
    role: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a credential type in the caller's organization
    await add_other_company_manager(database, world)
    organization = "south" if role.startswith("south") else "north"
    async with seeding(database, world, organization) as seed:
        type_id = await seed.credential_type()
    events_before = await event_kinds(database)

    # when they submit a credential for themselves
    body = await graphql.execute(
        CREATE,
        {
            "input": {
                "typeId": global_id("CredentialType", type_id),
                "holderId": global_id("User", world.user_ids[role]),
                "issueDate": "2026-02-01",
                "expiryDate": "2029-02-01",
            }
        },
        token=world.token(role),
    )

    # then it is theirs, pending review, and its submission is in the event log
    assert body["data"]["createCredential"]["errors"] == []
    [key] = await credential_ids_of(database, world.user_ids[role])
    state = await credential_state(database, key)
    assert state is not None
    assert [v.approval_status for v in state.versions] == [ApprovalStatus.PENDING]
    assert await event_kinds(database) == [*events_before, ("SUBMITTED", key)]
