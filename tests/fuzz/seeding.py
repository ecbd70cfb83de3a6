"""The rows the fuzz tests start from: the role world of tests/world.py, plus credential
types with the rules real organizations use and credentials in every state (pending,
approved, rejected, archived, a lapsed one with a renewal waiting) in both organizations;
and the values worth sending: ids by kind, malformed ids, real and crafted page cursors."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from server.database import Database
from server.settings import Settings
from tests.backends import SqliteTemplate
from tests.clock import TestClock
from tests.conftest import GraphQLClient, SqliteTemplates, client_on
from tests.credentials.factories import approve, create_credential, create_type, global_id
from tests.world import World

# The app's clock starts here, in the seeding and in the tests.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()

KINDS = ("Credential", "CredentialVersion", "CredentialType", "User", "Company", "Organization")

ARCHIVE = """
mutation Archive($id: ID!) {
  archiveCredential(id: $id) { errors { code message } }
}
"""

REJECT = """
mutation Reject($id: ID!, $reason: String!) {
  rejectCredential(id: $id, reason: $reason) { errors { code message } }
}
"""

ADD_VERSION = """
mutation AddVersion($input: AddCredentialVersionInput!) {
  addCredentialVersion(input: $input) { credential { latestVersion { id } } errors { code } }
}
"""

CURSORS = """
query Cursors {
  credentials(first: 100, filter: { archived: INCLUDE }) { edges { cursor } }
  users(first: 100) { edges { cursor } }
}
"""

# (name suffix, CreateCredentialTypeInput fields): the rules types of real organizations use.
TYPES: list[tuple[str, dict[str, Any]]] = [
    ("first aid", {"defaultValidityMonths": 36}),
    ("driver licence", {"defaultValidityMonths": 60, "expiryDateRule": "OPTIONAL"}),
    ("police check", {"neverExpires": True}),
    ("white card", {"issueDateRule": "OPTIONAL", "expiryDateRule": "OPTIONAL"}),
    ("high-risk work licence", {}),
]


@dataclass(frozen=True)
class Seeded:
    """A SQLite template holding the world and the seeded rows; the admin's token; the
    global ids worth sending (the admin's organization's by kind, then everything: the
    other organization's and malformed ones too); page cursors by connection field (real
    ones and crafted ones); the admin's organization's type ids by name suffix."""

    template: SqliteTemplate
    token: str = field(repr=False)
    own_ids: dict[str, tuple[str, ...]]
    all_ids: tuple[str, ...]
    cursors: dict[str, tuple[str, ...]]
    type_ids: dict[str, str]
    idle_user_id: str  # a user of the admin's organization who holds no credential


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


# Ids that name nothing: malformed, out of range, not canonical, of unknown types.
MALFORMED_IDS = (
    "",
    "Credential:1",
    _encoded("Credential:"),
    _encoded("Credential:0"),
    _encoded("Credential:-1"),
    _encoded("Credential:01"),
    _encoded("Credential:99999999999999999999"),
    _encoded("Nope:1"),
    _encoded(":"),
    "=====",
)

# Cursors of the right encoding that no page hands out.
CRAFTED_CURSORS = (
    _cursor([0]),
    _cursor([2**63]),
    _cursor([-(2**63) - 1]),
    _cursor([1.5]),
    _cursor([True]),
    _cursor(["", 1]),
    _cursor(["\u0000", 1]),
    _cursor(["zzz", 2**64]),
    _cursor([]),
    _cursor({}),
)


async def _expect_no_errors(
    graphql: GraphQLClient, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    body = await graphql.execute(query, variables, token)
    [payload] = body["data"].values()
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload
    return result


async def _seed_organization(
    graphql: GraphQLClient, world: World, admin: str, holders: list[str]
) -> tuple[list[str], dict[str, str]]:
    """Credential types and credentials in every state in the admin's organization: their
    global ids (types, credentials, versions) and the types' ids by name suffix."""
    token = world.token(admin)
    type_ids = {
        suffix: await create_type(graphql, token, name=f"{admin} {suffix}", **fields)
        for suffix, fields in TYPES
    }
    ids = list(type_ids.values())
    ids.append(await create_type(graphql, token, name=f"{admin} unused"))
    for index, holder in enumerate(holders):
        for number, (suffix, fields) in enumerate(TYPES):
            dates = {"expiryDate": None} if fields.get("neverExpires") else {}
            credential = await create_credential(
                graphql, token, type_ids[suffix], world.user_ids[holder], **dates
            )
            ids += [credential["id"], credential["latestVersion"]["id"]]
            state = (index + number) % 4  # pending, approved, rejected, archived
            if state == 1 and holder != admin:
                assert (await approve(graphql, token, credential["id"]))["errors"] == []
            elif state == 2 and holder != admin:
                variables = {"id": credential["id"], "reason": "Unreadable scan."}
                await _expect_no_errors(graphql, token, REJECT, variables)
            elif state == 3:
                await _expect_no_errors(graphql, token, ARCHIVE, {"id": credential["id"]})
    # An approved version that has lapsed, and its renewal waiting for approval.
    lapsed = await create_credential(
        graphql,
        token,
        await create_type(graphql, token, name=f"{admin} forklift", defaultValidityMonths=36),
        world.user_ids[holders[0]],
        issueDate="2023-01-15",
        expiryDate="2026-01-15",
    )
    assert (await approve(graphql, token, lapsed["id"]))["errors"] == []
    renewal = {"credentialId": lapsed["id"], "issueDate": "2026-01-10", "expiryDate": None}
    added = await _expect_no_errors(graphql, token, ADD_VERSION, {"input": renewal})
    ids += [lapsed["id"], added["credential"]["latestVersion"]["id"]]
    return ids, type_ids


def _world_ids(world: World, organization: str) -> list[str]:
    if organization == "south":
        return [
            global_id("Organization", world.south_id),
            global_id("Company", world.south_company_id),
            *(global_id("User", world.user_ids[role]) for role in ("south_admin", "south_worker")),
        ]
    return [
        global_id("Organization", world.north_id),
        global_id("Company", world.acme_id),
        global_id("Company", world.bolt_id),
        *(global_id("User", key) for role, key in world.user_ids.items() if "south" not in role),
    ]


def kind_of(node_id: str) -> str:
    """The type a global id names ("Credential", "User", ...); "" for a malformed one."""
    try:
        return base64.b64decode(node_id, validate=True).decode().split(":", 1)[0]
    except ValueError:
        return ""


async def _cursors(graphql: GraphQLClient, token: str) -> dict[str, tuple[str, ...]]:
    """Real cursors of each connection field, and the crafted ones."""
    data = (await graphql.execute(CURSORS, token=token))["data"]
    real = {name: [edge["cursor"] for edge in data[name]["edges"]] for name in data}
    real["workers"] = real["users"]  # a company's workers are a page of users too
    return {name: (*cursors, *CRAFTED_CURSORS) for name, cursors in real.items()}


async def seed_template(sqlite_templates: SqliteTemplates) -> Seeded:
    """A copy of the world's template with the seeded rows, and what to send."""
    world = sqlite_templates.world

    async def seed(
        database: Database,
    ) -> tuple[list[str], list[str], dict[str, tuple[str, ...]], dict[str, str]]:
        settings = replace(
            Settings(), database_url=database.engine.url.render_as_string(), load_demo_data=False
        )
        async with client_on(settings, TestClock(NOW)) as graphql:
            north, type_ids = await _seed_organization(
                graphql, world, "admin", ["employee", "acme_worker", "bolt_worker", "admin"]
            )
            south, _ = await _seed_organization(graphql, world, "south_admin", ["south_worker"])
            cursors = await _cursors(graphql, world.token("admin"))
        return north, south, cursors, type_ids

    template, (north, south, cursors, type_ids) = await sqlite_templates.with_world.seeded(
        "fuzz", seed
    )
    own = [*north, *_world_ids(world, "north")]
    return Seeded(
        template,
        world.token("admin"),
        own_ids={kind: tuple(i for i in own if kind_of(i) == kind) for kind in KINDS},
        all_ids=(*own, *south, *_world_ids(world, "south"), *MALFORMED_IDS),
        cursors=cursors,
        type_ids=type_ids,
        idle_user_id=global_id("User", world.user_ids["users_manager"]),
    )
