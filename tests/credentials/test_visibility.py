"""Which credentials each role sees, through every way of reading them, and which of their
sensitive fields; the list's filters and keyset pages.

Whatever a viewer may not see answers exactly as if it did not exist: null from
credential(id) and node(id), absent from lists and counts. Another organization's ids
never resolve, whoever asks.
"""

from __future__ import annotations

from typing import Any

import pytest

from models import ApprovalStatus
from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.factories import create_credential, global_id
from tests.credentials.matrix_setup import (
    FIRST_AID,
    FORKLIFT,
    OTHER_COMPANY_MANAGER,
    REASON,
    add_other_company_manager,
    credential_state,
    reviewer_viewer,
    seeding,
)
from tests.world import World

LIST = """
query List($filter: CredentialFilterInput, $first: Int! = 100, $after: String) {
  credentials(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node { id archived holder { id } latestVersion { credentialNumber rejectionReason } }
    }
  }
}
"""
CREDENTIAL = """
query Credential($id: ID!) {
  credential(id: $id) {
    id
    holder { id }
    latestVersion { id credentialNumber rejectionReason }
    versions { id number credentialNumber rejectionReason }
  }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Credential { latestVersion { credentialNumber rejectionReason } }
    ... on CredentialVersion { number credentialNumber rejectionReason credential { id } }
  }
}
"""
ACTIVITY = """
query Activity($id: ID!) {
  credential(id: $id) {
    activity { action field oldValue newValue }
    latestVersion { credentialNumber activity { field oldValue newValue } }
  }
}
"""
EDIT_NUMBER = """
mutation EditNumber($input: EditLatestCredentialVersionInput!) {
  editLatestCredentialVersion(input: $input) { errors { code field message } }
}
"""
NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) { __typename id }
}
"""

# Holders of one credential each (rejected, with a number): five in the north, one south.
NORTH_HOLDERS = ("acme_worker", "bolt_worker", "bolt_contact", "employee", "admin")
HOLDERS = (*NORTH_HOLDERS, "south_worker")
EVERYONE_NORTH = frozenset(NORTH_HOLDERS)
BOLT = frozenset({"bolt_worker", "bolt_contact"})

# fmt: off
# viewer                 -> (holders whose credentials they see,  ... and whose details they see)
VISIBILITY: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "acme_worker":         (frozenset({"acme_worker"}),  frozenset({"acme_worker"})),
    "bolt_worker":         (frozenset({"bolt_worker"}),  frozenset({"bolt_worker"})),
    "bolt_contact":        (BOLT,                        frozenset({"bolt_contact"})),
    "employee":            (frozenset({"employee"}),     frozenset({"employee"})),
    "users_manager":       (EVERYONE_NORTH,              EVERYONE_NORTH),
    "credentials_manager": (EVERYONE_NORTH,              EVERYONE_NORTH),
    "admin":               (EVERYONE_NORTH,              EVERYONE_NORTH),
    "company_manager":     (frozenset({"acme_worker"}),  frozenset({"acme_worker"})),
    OTHER_COMPANY_MANAGER: (BOLT,                        BOLT),
    "south_admin":         (frozenset({"south_worker"}), frozenset({"south_worker"})),
    "south_worker":        (frozenset({"south_worker"}), frozenset({"south_worker"})),
}
# fmt: on


async def _seed_one_each(database: Database, world: World) -> dict[str, tuple[int, int]]:
    """holder role -> (credential key, its version's key): one rejected credential each."""
    await add_other_company_manager(database, world)
    credentials: dict[str, int] = {}
    async with seeding(database, world) as seed:
        type_id = await seed.credential_type()
        for holder in NORTH_HOLDERS:
            credentials[holder] = await seed.credential(holder, type_id, number=f"N-{holder}")
        # Nobody reviews their own credential, the admin included: a reviewer rejects them.
        seed.viewer = reviewer_viewer(world)
        for holder in NORTH_HOLDERS:
            await seed.reject(credentials[holder])
    async with seeding(database, world, "south") as seed:
        credentials["south_worker"] = await seed.credential(
            "south_worker",
            await seed.credential_type(),
            number="N-south_worker",
            status=ApprovalStatus.REJECTED,
        )
    versions: dict[str, tuple[int, int]] = {}
    for holder, credential_id in credentials.items():
        state = await credential_state(database, credential_id)
        assert state is not None
        versions[holder] = (credential_id, state.latest.id)
    return versions


def _holder_roles(world: World) -> dict[str, str]:
    """User global id -> role."""
    return {global_id("User", key): role for role, key in world.user_ids.items()}


def _details(version: dict[str, Any]) -> tuple[str | None, str | None]:
    return version["credentialNumber"], version["rejectionReason"]


def _expected_details(holder: str, sees_details: frozenset[str]) -> tuple[str | None, ...]:
    return (f"N-{holder}", REASON) if holder in sees_details else (None, None)


@pytest.mark.parametrize("viewer", list(VISIBILITY))
async def test_each_role_sees_exactly_its_credentials_in_the_list(
    viewer: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given one rejected credential held by each of six people in two organizations
    await _seed_one_each(database, world)
    visible, sees_details = VISIBILITY[viewer]

    # when the viewer lists credentials
    body = await graphql.execute(LIST, {}, token=world.token(viewer))

    # then exactly the visible ones are listed and counted, details only where allowed
    assert "errors" not in body, body
    connection = body["data"]["credentials"]
    roles = _holder_roles(world)
    listed = {roles[e["node"]["holder"]["id"]]: e["node"] for e in connection["edges"]}
    assert set(listed) == visible
    assert connection["totalCount"] == len(visible)
    for holder, node in listed.items():
        assert _details(node["latestVersion"]) == _expected_details(holder, sees_details)


@pytest.mark.parametrize("viewer", list(VISIBILITY))
async def test_each_role_resolves_exactly_its_credentials_by_id(
    viewer: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given one rejected credential held by each of six people in two organizations
    keys = await _seed_one_each(database, world)
    visible, sees_details = VISIBILITY[viewer]
    token = world.token(viewer)

    for holder, (credential_key, version_key) in keys.items():
        credential = global_id("Credential", credential_key)
        version = global_id("CredentialVersion", version_key)

        # when the viewer asks for it by id, as a Credential and as a node, and its version
        by_id = await graphql.execute(CREDENTIAL, {"id": credential}, token=token)
        as_node = await graphql.execute(NODE, {"id": credential}, token=token)
        version_node = await graphql.execute(NODE, {"id": version}, token=token)

        # then visible ones resolve (details where allowed); the rest are null, no error
        for body in (by_id, as_node, version_node):
            assert "errors" not in body, body
        found = by_id["data"]["credential"]
        if holder not in visible:
            assert found is None, holder
            assert as_node["data"]["node"] is None, holder
            assert version_node["data"]["node"] is None, holder
            continue
        expected = _expected_details(holder, sees_details)
        assert found["id"] == credential
        assert found["latestVersion"]["id"] == version
        assert _details(found["latestVersion"]) == expected
        assert [_details(v) for v in found["versions"]] == [expected]
        assert as_node["data"]["node"]["__typename"] == "Credential"
        assert _details(as_node["data"]["node"]["latestVersion"]) == expected
        node = version_node["data"]["node"]
        assert (node["__typename"], node["number"]) == ("CredentialVersion", 1)
        assert node["credential"] == {"id": credential}
        assert _details(node) == expected


@pytest.mark.parametrize("viewer", ["admin", "south_admin"])
async def test_another_organizations_ids_never_resolve(
    viewer: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given credentials in both organizations, and a viewer who sees all of their own
    keys = await _seed_one_each(database, world)
    own, other = ("admin", "south_worker") if viewer == "admin" else ("south_worker", "admin")
    ids = [
        global_id("Credential", keys[other][0]),
        global_id("CredentialVersion", keys[other][1]),
        global_id("Credential", keys[own][0]),
    ]
    holder_filter = {"holderIds": [global_id("User", world.user_ids[other])]}

    # when they ask for the other organization's by id, as nodes, and by holder
    by_id = await graphql.execute(CREDENTIAL, {"id": ids[0]}, token=world.token(viewer))
    nodes = await graphql.execute(NODES, {"ids": ids}, token=world.token(viewer))
    filtered = await graphql.execute(LIST, {"filter": holder_filter}, token=world.token(viewer))

    # then nothing of it resolves, while their own does
    assert by_id["data"]["credential"] is None
    assert [n["id"] if n else None for n in nodes["data"]["nodes"]] == [None, None, ids[2]]
    assert filtered["data"]["credentials"]["edges"] == []
    assert filtered["data"]["credentials"]["totalCount"] == 0


async def test_the_holder_reads_their_own_rejection_reason_on_every_version(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a credential approved once, then renewed and the renewal rejected
    async with seeding(database, world) as seed:
        credential_id = await seed.credential(
            "acme_worker", await seed.credential_type(), status=ApprovalStatus.APPROVED
        )
        await seed.add_version(credential_id, number="FA-2002")
        await seed.reject(credential_id)

    # when the holder reads it
    body = await graphql.execute(
        CREDENTIAL,
        {"id": global_id("Credential", credential_id)},
        token=world.token("acme_worker"),
    )

    # then the renewal's reason is theirs to read, and the first version has none
    versions = body["data"]["credential"]["versions"]
    assert [(v["number"], _details(v)) for v in versions] == [
        (2, ("FA-2002", REASON)),
        (1, ("FA-1001", None)),
    ]


async def test_a_key_contact_sees_their_workers_credentials_without_their_details(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a rejected credential of a Bolt worker
    async with seeding(database, world) as seed:
        credential_id = await seed.credential(
            "bolt_worker",
            await seed.credential_type(),
            number="FB-3003",
            status=ApprovalStatus.REJECTED,
        )

    # when Bolt's key contact reads it
    body = await graphql.execute(
        CREDENTIAL,
        {"id": global_id("Credential", credential_id)},
        token=world.token("bolt_contact"),
    )

    # then the credential is there, its number and reason null, and no error is raised
    assert "errors" not in body, body
    credential = body["data"]["credential"]
    assert credential["holder"] == {"id": global_id("User", world.user_ids["bolt_worker"])}
    assert _details(credential["latestVersion"]) == (None, None)


# Credentials of the filter tests: label -> (holder, type, archived). Created in this order,
# so the list (newest first) shows them in reverse.
FILTERED = {
    "acme first aid": ("acme_worker", FIRST_AID, False),
    "acme forklift (archived)": ("acme_worker", FORKLIFT, True),
    "bolt first aid (archived)": ("bolt_worker", FIRST_AID, True),
    "bolt forklift": ("bolt_worker", FORKLIFT, False),
    "employee first aid": ("employee", FIRST_AID, False),
}
LIVE_ONES = ["employee first aid", "bolt forklift", "acme first aid"]
ALL_NEWEST_FIRST = list(reversed(FILTERED))

# A filter names types and holders by name here; the test turns them into global ids.
FILTER_CASES: list[tuple[str, str, dict[str, Any] | None, list[str]]] = [
    # (case, viewer, filter, listed newest first)
    ("no filter: archived hidden", "admin", None, LIVE_ONES),
    ("empty filter: archived hidden", "admin", {}, LIVE_ONES),
    ("archived EXCLUDE", "admin", {"archived": "EXCLUDE"}, LIVE_ONES),
    (
        "archived ONLY",
        "admin",
        {"archived": "ONLY"},
        ["bolt first aid (archived)", "acme forklift (archived)"],
    ),
    ("archived INCLUDE: show archived", "admin", {"archived": "INCLUDE"}, ALL_NEWEST_FIRST),
    ("by type", "admin", {"typeIds": [FIRST_AID]}, ["employee first aid", "acme first aid"]),
    (
        "by type, with archived",
        "admin",
        {"typeIds": [FIRST_AID], "archived": "INCLUDE"},
        ["employee first aid", "bolt first aid (archived)", "acme first aid"],
    ),
    ("by holder", "admin", {"holderIds": ["acme_worker"]}, ["acme first aid"]),
    (
        "by holder, only archived",
        "admin",
        {"holderIds": ["acme_worker"], "archived": "ONLY"},
        ["acme forklift (archived)"],
    ),
    (
        "by holders and type",
        "admin",
        {"holderIds": ["acme_worker", "bolt_worker"], "typeIds": [FORKLIFT], "archived": "INCLUDE"},
        ["bolt forklift", "acme forklift (archived)"],
    ),
    ("no types at all", "admin", {"typeIds": []}, []),
    ("a user's id as a type id", "admin", {"typeIds": ["user:acme_worker"]}, []),
    ("a malformed holder id", "admin", {"holderIds": ["raw:not-a-global-id"]}, []),
    ("another organization's holder", "admin", {"holderIds": ["south_worker"]}, []),
    (
        "a filter never widens the view",
        "company_manager",
        {"holderIds": ["bolt_worker"], "archived": "INCLUDE"},
        [],
    ),
    (
        "a company manager, with archived",
        "company_manager",
        {"archived": "INCLUDE"},
        ["acme forklift (archived)", "acme first aid"],
    ),
]


def _filter_ids(
    credential_filter: dict[str, Any] | None, world: World, types: dict[str, int]
) -> dict[str, Any] | None:
    if credential_filter is None:
        return None

    def type_id(name: str) -> str:
        if name.startswith("user:"):
            return global_id("User", world.user_ids[name.removeprefix("user:")])
        return global_id("CredentialType", types[name])

    converted = dict(credential_filter)
    if "typeIds" in converted:
        converted["typeIds"] = [type_id(name) for name in converted["typeIds"]]
    if "holderIds" in converted:
        converted["holderIds"] = [
            name.removeprefix("raw:")
            if name.startswith("raw:")
            else global_id("User", world.user_ids[name])
            for name in converted["holderIds"]
        ]
    return converted


@pytest.mark.parametrize(
    ("viewer", "credential_filter", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in FILTER_CASES],
)
async def test_the_list_filters(
    viewer: str,
    credential_filter: dict[str, Any] | None,
    expected: list[str],
    graphql: GraphQLClient,
    database: Database,
    world: World,
) -> None:
    # given five credentials of two types and three holders, two of them archived
    async with seeding(database, world) as seed:
        types = {name: await seed.credential_type(name) for name in (FIRST_AID, FORKLIFT)}
        labels = {}
        for label, (holder, type_name, archived) in FILTERED.items():
            key = await seed.credential(holder, types[type_name], archived=archived)
            labels[global_id("Credential", key)] = label
    async with seeding(database, world, "south") as seed:
        await seed.credential("south_worker", await seed.credential_type())
    variables = {"filter": _filter_ids(credential_filter, world, types)}

    # when the viewer lists them with the filter
    body = await graphql.execute(LIST, variables, token=world.token(viewer))

    # then exactly the expected ones, newest first, and the count agrees
    assert "errors" not in body, body
    connection = body["data"]["credentials"]
    assert [labels[e["node"]["id"]] for e in connection["edges"]] == expected
    assert connection["totalCount"] == len(expected)
    for edge in connection["edges"]:
        assert edge["node"]["archived"] is ("(archived)" in labels[edge["node"]["id"]])


async def test_keyset_pages_neither_repeat_nor_skip_while_credentials_are_added(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given five credentials
    async with seeding(database, world) as seed:
        types = [await seed.credential_type(name) for name in (FIRST_AID, FORKLIFT)]
        existing = [
            await seed.credential(holder, type_id)
            for holder, type_id in [
                ("acme_worker", types[0]),
                ("acme_worker", types[1]),
                ("bolt_worker", types[0]),
                ("bolt_worker", types[1]),
                ("employee", types[0]),
            ]
        ]
    token = world.token("admin")

    # when they are read in pages of 2, a new credential being created after the first page
    first = await graphql.execute(LIST, {"first": 2}, token=token)
    created = await create_credential(
        graphql,
        world.token("users_manager"),
        global_id("CredentialType", types[1]),
        world.user_ids["employee"],
    )
    pages = [first["data"]["credentials"]]
    while pages[-1]["pageInfo"]["hasNextPage"]:
        after = pages[-1]["pageInfo"]["endCursor"]
        body = await graphql.execute(LIST, {"first": 2, "after": after}, token=token)
        pages.append(body["data"]["credentials"])
    restart = await graphql.execute(LIST, {"first": 2}, token=token)

    # then every credential that existed is read exactly once, newest first
    read = [edge["node"]["id"] for page in pages for edge in page["edges"]]
    assert read == [global_id("Credential", key) for key in reversed(existing)]
    assert [len(page["edges"]) for page in pages] == [2, 2, 1]
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, True, False]
    for page in pages:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    # and the count is of the moment: the new credential counts once it exists
    assert [page["totalCount"] for page in pages] == [5, 6, 6]
    restarted = restart["data"]["credentials"]
    assert restarted["edges"][0]["node"]["id"] == created["id"]
    assert restarted["totalCount"] == 6


@pytest.mark.parametrize(
    ("first", "after"),
    [
        pytest.param(101, None, id="first over 100"),
        pytest.param(0, None, id="first 0"),
        pytest.param(-1, None, id="first negative"),
        pytest.param(2, "not-a-cursor", id="a malformed cursor"),
        pytest.param(2, "WyJ4Il0=", id="a cursor of another connection"),
    ],
)
async def test_bad_page_arguments_are_refused(
    first: int, after: str | None, graphql: GraphQLClient, world: World
) -> None:
    # given any viewer
    token = world.token("admin")

    # when they ask for an impossible page
    body = await graphql.execute(LIST, {"first": first, "after": after}, token=token)

    # then BAD_USER_INPUT, with a message that says what is wrong
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert ("'first'" if after is None else "'after'") in error["message"]


async def test_a_page_of_100_is_allowed(graphql: GraphQLClient, world: World) -> None:
    # when a viewer asks for the largest page
    body = await graphql.execute(LIST, {"first": 100}, token=world.token("admin"))

    # then it is served
    assert "errors" not in body, body
    assert body["data"]["credentials"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("viewer", "sees_numbers"),
    [
        pytest.param("bolt_worker", True, id="the holder"),
        pytest.param(OTHER_COMPANY_MANAGER, True, id="their company manager"),
        pytest.param("credentials_manager", True, id="a reviewer"),
        pytest.param(
            "bolt_contact",
            False,
            id="their key contact",
        ),
    ],
)
async def test_the_activity_log_shows_credential_numbers_only_to_who_sees_them(
    viewer: str, sees_numbers: bool, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a Bolt worker's credential whose number the holder then corrected
    await add_other_company_manager(database, world)
    async with seeding(database, world) as seed:
        key = await seed.credential("bolt_worker", await seed.credential_type(), number="FB-1")
    state = await credential_state(database, key)
    assert state is not None
    edited = await graphql.execute(
        EDIT_NUMBER,
        {
            "input": {
                "credentialId": global_id("Credential", key),
                "expectedRevision": state.revision,
                "credentialNumber": "FB-2",
            }
        },
        token=world.token("bolt_worker"),
    )
    assert edited["data"]["editLatestCredentialVersion"]["errors"] == []

    # when the viewer reads the credential's activity, and its latest version's
    body = await graphql.execute(
        ACTIVITY, {"id": global_id("Credential", key)}, token=world.token(viewer)
    )

    # then the number changes are listed, their values only for who may see the number
    assert "errors" not in body, body
    credential = body["data"]["credential"]
    for entries in (credential["activity"], credential["latestVersion"]["activity"]):
        changes = [
            (e["oldValue"], e["newValue"]) for e in entries if e["field"] == "credentialNumber"
        ]
        if sees_numbers:
            assert changes == [(None, "FB-1"), ("FB-1", "FB-2")]
        else:
            assert changes == [(None, None), (None, None)]
    shown = credential["latestVersion"]["credentialNumber"]
    assert shown == ("FB-2" if sees_numbers else None)
