"""Who sees what: users, their emails, companies and objects by global id, per role of the
world (tests/world.py). Whatever a viewer may not see answers exactly as if it did not exist."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.world import World

USERS = """
query Users {
  users(first: 100) { totalCount edges { node { id name email isActive } } }
}
"""
COMPANIES = """
query Companies {
  companies {
    id
    name
    workers(first: 40) { totalCount edges { node { name } } }
  }
}
"""
ME_COMPANY = "query MeCompany { me { name email company { name } } }"
ORGANIZATION = "query Organization { organization { id name } }"
NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on User { name email }
    ... on Company { name }
    ... on Organization { name }
  }
}
"""
NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    id
    ... on User { name }
    ... on Company { name }
    ... on Organization { name }
  }
}
"""

NORTH_ROLES = [
    "admin",
    "users_manager",
    "credentials_manager",
    "company_manager",
    "acme_worker",
    "bolt_contact",
    "bolt_worker",
    "employee",
    "inactive",
]
ACME_WORKERS = {"acme_worker", "inactive"}
BOLT_WORKERS = {"bolt_contact", "bolt_worker"}
# Roles that can authenticate: "inactive" cannot.
VIEWERS = [role for role in [*NORTH_ROLES, "south_admin", "south_worker"] if role != "inactive"]

VISIBLE_USERS: dict[str, set[str]] = {
    "admin": set(NORTH_ROLES),
    "users_manager": set(NORTH_ROLES),
    "credentials_manager": set(NORTH_ROLES),
    "company_manager": {"company_manager", *ACME_WORKERS},
    "bolt_contact": BOLT_WORKERS,
    "bolt_worker": {"bolt_worker"},
    "acme_worker": {"acme_worker"},
    "employee": {"employee"},
    "south_admin": {"south_admin", "south_worker"},
    "south_worker": {"south_worker"},
}
# Holders of USERS_MANAGE see every visible user's email; everyone else only their own.
SEES_EMAILS = {"admin", "users_manager", "south_admin"}

# Company name -> the roles among its workers that the viewer sees. `companies` is the
# contractor view: a plain worker lists none (their own shows through `me { company }`).
VISIBLE_COMPANIES: dict[str, dict[str, set[str]]] = {
    "admin": {"Acme Scaffolding": ACME_WORKERS, "Bolt Electrical": BOLT_WORKERS},
    "users_manager": {"Acme Scaffolding": ACME_WORKERS, "Bolt Electrical": BOLT_WORKERS},
    "credentials_manager": {"Acme Scaffolding": ACME_WORKERS, "Bolt Electrical": BOLT_WORKERS},
    "company_manager": {"Acme Scaffolding": ACME_WORKERS},
    "bolt_contact": {"Bolt Electrical": BOLT_WORKERS},
    "bolt_worker": {},
    "acme_worker": {},
    "employee": {},
    "south_admin": {"Southern Cranes": {"south_worker"}},
    "south_worker": {},
}
OWN_COMPANY: dict[str, str | None] = {
    "admin": None,
    "users_manager": None,
    "credentials_manager": None,
    "company_manager": None,
    "acme_worker": "Acme Scaffolding",
    "bolt_contact": "Bolt Electrical",
    "bolt_worker": "Bolt Electrical",
    "employee": None,
    "south_admin": None,
    "south_worker": "Southern Cranes",
}
NONEXISTENT = 999_999
# The largest key: PostgreSQL's integer is 32-bit, so no object has a larger one.
MAX_KEY = 2**31 - 1
# How many ids `nodes` takes at once.
MAX_NODES = 100
# 0-9 to the fullwidth digits U+FF10-U+FF19: str.isdigit() accepts them, no key holds them.
FULLWIDTH_DIGITS = {ord("0") + digit: 0xFF10 + digit for digit in range(10)}


def _name(role: str) -> str:
    """The display name tests/world.py gives a role's user."""
    return role.replace("_", " ").title()


def _email(role: str) -> str:
    return f"{role}@example.com"


def _global_id(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def _user_id(world: World, role: str) -> str:
    return _global_id("User", world.user_ids[role])


def _edges(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def test_the_tables_cover_every_viewer() -> None:
    # the tables below are only as good as their coverage of the world's roles
    for table in (VISIBLE_USERS, VISIBLE_COMPANIES, OWN_COMPANY):
        assert set(table) == set(VIEWERS)


@pytest.mark.parametrize("role", VIEWERS)
async def test_users_lists_exactly_the_users_a_role_may_see_with_emails_only_where_allowed(
    graphql: GraphQLClient, world: World, role: str
) -> None:
    # given a viewer in some role
    # when they list users with their emails
    body = await graphql.execute(USERS, token=world.token(role))
    # then they get exactly the users their role allows, inactive ones included
    assert "errors" not in body
    users = _edges(body["data"]["users"])
    expected = VISIBLE_USERS[role]
    assert sorted(u["name"] for u in users) == sorted(_name(r) for r in expected)
    assert {u["id"] for u in users} == {_user_id(world, r) for r in expected}
    assert body["data"]["users"]["totalCount"] == len(expected)
    assert {u["name"] for u in users if not u["isActive"]} == (
        {"Inactive"} if "inactive" in expected else set()
    )
    # and each email is there for themselves and for user managers, null otherwise,
    # silently: the rest of the row is there and no error is raised
    emails = {u["name"]: u["email"] for u in users}
    for seen in expected:
        visible = seen == role or role in SEES_EMAILS
        assert emails[_name(seen)] == (_email(seen) if visible else None), seen


@pytest.mark.parametrize(
    ("role", "target", "email_visible"),
    [
        ("admin", "inactive", True),
        ("users_manager", "acme_worker", True),
        ("credentials_manager", "acme_worker", False),
        ("company_manager", "acme_worker", False),
        ("bolt_contact", "bolt_worker", False),
        ("bolt_worker", "bolt_worker", True),
    ],
)
async def test_email_by_node_follows_the_same_rule(
    graphql: GraphQLClient, world: World, role: str, target: str, email_visible: bool
) -> None:
    # given a user the viewer may see
    # when the viewer fetches them by global id
    body = await graphql.execute(NODE, {"id": _user_id(world, target)}, world.token(role))
    # then the email is there only for themselves and user managers, without an error
    assert "errors" not in body
    assert body["data"]["node"]["name"] == _name(target)
    assert body["data"]["node"]["email"] == (_email(target) if email_visible else None)


@pytest.mark.parametrize("role", VIEWERS)
async def test_companies_and_their_workers_per_role(
    graphql: GraphQLClient, world: World, role: str
) -> None:
    # given a viewer in some role
    # when they list companies with their workers
    body = await graphql.execute(COMPANIES, token=world.token(role))
    # then they see the companies of their role, in name order, with the workers they may see
    assert "errors" not in body
    companies = body["data"]["companies"]
    expected = VISIBLE_COMPANIES[role]
    assert [c["name"] for c in companies] == sorted(expected)
    for company in companies:
        workers = sorted(w["name"] for w in _edges(company["workers"]))
        assert workers == sorted(_name(r) for r in expected[company["name"]]), company["name"]
        assert company["workers"]["totalCount"] == len(workers)


@pytest.mark.parametrize("role", VIEWERS)
async def test_me_shows_the_viewers_own_company_and_email(
    graphql: GraphQLClient, world: World, role: str
) -> None:
    # when a viewer asks for themselves
    body = await graphql.execute(ME_COMPANY, token=world.token(role))
    # then they get their name, their own email and their own company, if any
    assert "errors" not in body
    own_company = OWN_COMPANY[role]
    assert body["data"]["me"] == {
        "name": _name(role),
        "email": _email(role),
        "company": {"name": own_company} if own_company is not None else None,
    }


@pytest.mark.parametrize(
    ("role", "organization"),
    [
        ("admin", "North Builders"),
        ("employee", "North Builders"),
        ("bolt_contact", "North Builders"),
        ("south_admin", "South Builders"),
        ("south_worker", "South Builders"),
    ],
)
async def test_organization_is_the_viewers_own(
    graphql: GraphQLClient, world: World, role: str, organization: str
) -> None:
    # when a viewer asks for their organization
    body = await graphql.execute(ORGANIZATION, token=world.token(role))
    # then it is the one they belong to, under a global id that node() resolves
    org_id = world.north_id if organization == "North Builders" else world.south_id
    assert body == {
        "data": {"organization": {"id": _global_id("Organization", org_id), "name": organization}}
    }
    node = await graphql.execute(
        NODE, {"id": _global_id("Organization", org_id)}, world.token(role)
    )
    assert node["data"]["node"]["name"] == organization


@pytest.mark.parametrize(
    ("role", "type_name", "target", "name"),
    [
        ("admin", "User", "bolt_worker", "Bolt Worker"),
        ("admin", "User", "inactive", "Inactive"),
        ("admin", "Company", "acme", "Acme Scaffolding"),
        ("company_manager", "User", "acme_worker", "Acme Worker"),
        ("company_manager", "Company", "acme", "Acme Scaffolding"),
        ("bolt_contact", "User", "bolt_worker", "Bolt Worker"),
        ("acme_worker", "User", "acme_worker", "Acme Worker"),
        ("acme_worker", "Company", "acme", "Acme Scaffolding"),
        ("south_worker", "Company", "south", "Southern Cranes"),
    ],
)
async def test_node_resolves_a_visible_object_of_the_own_organization(
    graphql: GraphQLClient, world: World, role: str, type_name: str, target: str, name: str
) -> None:
    # given the global id of an object the viewer may see
    company_ids = {"acme": world.acme_id, "bolt": world.bolt_id, "south": world.south_company_id}
    key = world.user_ids[target] if type_name == "User" else company_ids[target]
    node_id = _global_id(type_name, key)
    # when they ask for it by id
    body = await graphql.execute(NODE, {"id": node_id}, world.token(role))
    # then it resolves, under the same id
    assert "errors" not in body
    node = body["data"]["node"]
    assert (node["__typename"], node["id"], node["name"]) == (type_name, node_id, name)


@pytest.mark.parametrize(
    ("role", "type_name", "target"),
    [
        pytest.param("admin", "User", "south_worker", id="admin-other-org-user"),
        pytest.param("admin", "Company", "south", id="admin-other-org-company"),
        pytest.param("admin", "Organization", "south", id="admin-other-org"),
        pytest.param("south_admin", "User", "admin", id="south-admin-other-org-user"),
        pytest.param("south_admin", "Company", "acme", id="south-admin-other-org-company"),
        pytest.param("south_admin", "Organization", "north", id="south-admin-other-org"),
        pytest.param("acme_worker", "User", "bolt_worker", id="worker-same-org-invisible-user"),
        pytest.param("acme_worker", "User", "admin", id="worker-same-org-admin"),
        pytest.param("acme_worker", "Company", "bolt", id="worker-same-org-invisible-company"),
        pytest.param("employee", "Company", "acme", id="employee-any-company"),
        pytest.param("company_manager", "User", "bolt_worker", id="manager-other-company-user"),
        pytest.param("bolt_contact", "User", "inactive", id="contact-other-company-user"),
    ],
)
async def test_an_invisible_object_answers_exactly_like_a_nonexistent_one(
    graphql: GraphQLClient, world: World, role: str, type_name: str, target: str
) -> None:
    # given the id of an object the viewer may not see, and an id that exists nowhere
    keys = {
        "acme": world.acme_id,
        "bolt": world.bolt_id,
        "south": world.south_company_id if type_name == "Company" else world.south_id,
        "north": world.north_id,
        **world.user_ids,
    }
    hidden = _global_id(type_name, keys[target])
    missing = _global_id(type_name, NONEXISTENT)
    token = world.token(role)
    # when they ask for each
    hidden_body = await graphql.execute(NODE, {"id": hidden}, token)
    missing_body = await graphql.execute(NODE, {"id": missing}, token)
    # then both answer null, with nothing that tells them apart
    assert hidden_body == missing_body == {"data": {"node": None}}


async def test_nodes_answers_in_order_with_null_for_what_is_missing_or_hidden(
    graphql: GraphQLClient, world: World
) -> None:
    # given ids mixing own, other-organization and nonexistent objects of every type
    ids = [
        _user_id(world, "bolt_worker"),
        _user_id(world, "south_worker"),
        _global_id("User", NONEXISTENT),
        _global_id("Company", world.acme_id),
        _global_id("Company", world.south_company_id),
        _global_id("Organization", world.north_id),
        _global_id("Organization", world.south_id),
        _user_id(world, "admin"),
    ]
    # when an admin of north asks for them all at once
    body = await graphql.execute(NODES, {"ids": ids}, world.token("admin"))
    # then the visible ones resolve in the order asked and the rest are null
    assert "errors" not in body
    names = [node["name"] if node is not None else None for node in body["data"]["nodes"]]
    assert names == [
        "Bolt Worker",
        None,
        None,
        "Acme Scaffolding",
        None,
        "North Builders",
        None,
        "Admin",
    ]


async def test_nodes_hides_from_a_worker_what_users_hides(
    graphql: GraphQLClient, world: World
) -> None:
    # given ids of every north user
    ids = [_user_id(world, role) for role in NORTH_ROLES]
    # when a company manager asks for them all
    body = await graphql.execute(NODES, {"ids": ids}, world.token("company_manager"))
    # then exactly the users the users list shows resolve
    resolved = {node["name"] for node in body["data"]["nodes"] if node is not None}
    assert resolved == {_name(r) for r in VISIBLE_USERS["company_manager"]}


@pytest.mark.parametrize(
    "node_id",
    [
        pytest.param(_global_id("User", "abc"), id="non-numeric-key"),
        pytest.param(_global_id("User", ""), id="empty-key"),
        pytest.param(_global_id("User", "-1"), id="negative-key"),
        pytest.param(_global_id("User", "1.5"), id="fractional-key"),
        pytest.param(_global_id("User", " 1"), id="padded-key"),
        pytest.param(_global_id("Company", "abc"), id="company-non-numeric-key"),
        pytest.param(_global_id("Organization", "abc"), id="organization-non-numeric-key"),
    ],
)
async def test_a_well_formed_id_with_a_malformed_key_is_not_found(
    graphql: GraphQLClient, world: World, node_id: str
) -> None:
    # when a viewer asks for an id of a real type whose key is not a database key
    body = await graphql.execute(NODE, {"id": node_id}, world.token("admin"))
    # then it answers as not found
    assert body == {"data": {"node": None}}


@pytest.mark.parametrize(
    "node_id",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param(base64.b64encode(b"User").decode(), id="no-separator"),
        pytest.param(base64.b64encode(b":1").decode(), id="empty-type-name"),
        pytest.param(base64.b64encode(b"\xff\xfe:1").decode(), id="not-utf8"),
    ],
)
async def test_an_id_that_is_not_a_global_id_is_not_found(
    graphql: GraphQLClient, world: World, node_id: str
) -> None:
    # when a viewer sends something that does not decode as a global id
    body = await graphql.execute(NODE, {"id": node_id}, world.token("admin"))
    # then it answers as not found, like any id that names nothing the viewer may see
    assert body == {"data": {"node": None}}


async def test_each_id_naming_nothing_is_null_in_its_place_in_nodes(
    graphql: GraphQLClient, world: World
) -> None:
    # given visible objects' ids among ids that cannot name anything
    ids = [
        _user_id(world, "admin"),
        "garbage",
        _global_id("Company", world.acme_id),
        "",
        _global_id("Nope", 1),
        _global_id("PageInfo", 1),
        _global_id("User", 10**20),
        _global_id("User", f"0{world.user_ids['admin']}"),
        _global_id("Organization", world.north_id),
        "garbage",
    ]
    # when they are asked for at once
    body = await graphql.execute(NODES, {"ids": ids}, world.token("admin"))
    # then the visible ones resolve in their places, each of the others is null,
    # and nothing is reported as an error
    assert "errors" not in body, body["errors"]
    names = [node["name"] if node is not None else None for node in body["data"]["nodes"]]
    assert names == [
        "Admin",
        None,
        "Acme Scaffolding",
        None,
        None,
        None,
        None,
        None,
        "North Builders",
        None,
    ]


@pytest.mark.parametrize(
    "node_id",
    [
        pytest.param(_global_id("Nope", 1), id="unknown-type"),
        pytest.param(_global_id("PageInfo", 1), id="type-not-a-node"),
        pytest.param(_global_id("Query", 1), id="root-type"),
        pytest.param(_global_id("Node", 1), id="interface"),
        pytest.param(_global_id("user", 1), id="type-name-in-other-case"),
        pytest.param(_global_id("User", 10**20), id="key-beyond-int64"),
        pytest.param(_global_id("User", 2**31), id="key-beyond-int32"),
        pytest.param(_global_id("User", MAX_KEY), id="largest-key"),
        pytest.param(_global_id("User", 0), id="key-zero"),
        pytest.param(_global_id("Company", 2**31), id="company-key-beyond-int32"),
        pytest.param(_global_id("Organization", 2**31), id="organization-key-beyond-int32"),
    ],
)
async def test_an_id_naming_no_node_is_not_found(
    graphql: GraphQLClient, world: World, node_id: str
) -> None:
    # when a viewer sends a decodable id whose type or key names nothing that exists
    body = await graphql.execute(NODE, {"id": node_id}, world.token("admin"))
    # then it answers as not found, without an error: never a server fault
    assert body == {"data": {"node": None}}


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda key: f"000{key}", id="leading-zeros"),
        pytest.param(lambda key: f"+{key}", id="plus-sign"),
        pytest.param(lambda key: f"{key}.0", id="decimal-point"),
        pytest.param(lambda key: f"{key} ", id="trailing-space"),
        pytest.param(lambda key: f"{key}\n", id="trailing-newline"),
        pytest.param(lambda key: str(key).translate(FULLWIDTH_DIGITS), id="fullwidth-digits"),
    ],
)
async def test_a_non_canonical_key_is_not_found(
    graphql: GraphQLClient, world: World, spell: Callable[[int], str]
) -> None:
    # given the admin's own key spelled otherwise than the API writes it ("User:0001")
    key = world.user_ids["admin"]
    canonical = _global_id("User", key)
    misspelled = _global_id("User", spell(key))
    token = world.token("admin")
    # when the admin asks for it, alone and next to the canonical id
    node = await graphql.execute(NODE, {"id": misspelled}, token)
    nodes = await graphql.execute(NODES, {"ids": [canonical, misspelled]}, token)
    # then the misspelled id names nothing, while the canonical one resolves
    assert node == {"data": {"node": None}}
    assert "errors" not in nodes, nodes["errors"]
    [found, missing] = nodes["data"]["nodes"]
    assert (found["id"], found["name"], missing) == (canonical, "Admin", None)


async def test_nodes_takes_up_to_a_hundred_ids(graphql: GraphQLClient, world: World) -> None:
    # given as many ids as nodes takes, the admin's first, the rest naming nothing
    ids = [_user_id(world, "admin")]
    ids += [_global_id("User", NONEXISTENT + i) for i in range(MAX_NODES - 1)]
    # when they are asked for at once
    body = await graphql.execute(NODES, {"ids": ids}, world.token("admin"))
    # then each has its answer, in order
    assert "errors" not in body, body["errors"]
    nodes = body["data"]["nodes"]
    assert len(nodes) == MAX_NODES
    assert nodes[0]["name"] == "Admin"
    assert nodes[1:] == [None] * (MAX_NODES - 1)


async def test_more_than_a_hundred_ids_in_nodes_is_bad_user_input(
    graphql: GraphQLClient, world: World
) -> None:
    # given one id more than nodes takes, all of them valid
    ids = [_user_id(world, "admin")] * (MAX_NODES + 1)
    # when they are asked for at once
    body = await graphql.execute(NODES, {"ids": ids}, world.token("admin"))
    # then the error is the client's, and names the argument
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'ids'" in error["message"]
    assert error["path"] == ["nodes"]
