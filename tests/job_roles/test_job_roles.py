"""Defining job roles and their requirement groups, assigning people, and every refusal:
a refused mutation answers with a typed error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.factories import create_credential, create_type, global_id
from tests.job_roles.helpers import (
    CREATE_ROLE,
    DELETE_ROLE,
    UNASSIGN,
    UPDATE_ROLE,
    assign,
    create_role,
    stored_roles,
)
from tests.world import World

ROLES = """
query Roles { jobRoles { id name requirements { effectiveFrom types { name } } } }
"""
USER_ROLES = """
query UserRoles($id: ID!) { node(id: $id) { ... on User { name jobRoles { name } } } }
"""
DELETE_TYPE = """
mutation DeleteType($id: ID!) { deleteCredentialType(id: $id) { errors { code message } } }
"""
CREDENTIALS_OF_ROLE = """
query OfRole($roles: [ID!]) {
  credentials(filter: {jobRoleIds: $roles}) { totalCount edges { node { holder { name } } } }
}
"""


async def _types(graphql: GraphQLClient, world: World) -> dict[str, str]:
    token = world.token("admin")
    return {
        name: await create_type(graphql, token, name=name)
        for name in ("First aid certificate", "Paramedic registration", "Forklift licence")
    }


async def test_an_admin_defines_a_role_with_alternatives_and_a_later_requirement(
    graphql: GraphQLClient, world: World
) -> None:
    # given three credential types
    types = await _types(graphql, world)

    # when a role is created: first aid OR paramedic, and a forklift licence from March
    role = await create_role(
        graphql,
        world.token("credentials_manager"),
        "  Site supervisor ",
        [
            {"typeIds": [types["First aid certificate"], types["Paramedic registration"]]},
            {"typeIds": [types["Forklift licence"]], "effectiveFrom": "2027-03-01"},
        ],
    )

    # then it reads back as given, trimmed, in order
    assert role["name"] == "Site supervisor"
    assert role["requirements"] == [
        {
            "effectiveFrom": None,
            "types": [{"name": "First aid certificate"}, {"name": "Paramedic registration"}],
        },
        {"effectiveFrom": "2027-03-01", "types": [{"name": "Forklift licence"}]},
    ]
    listed = await graphql.execute(ROLES, token=world.token("employee"))
    assert [r["name"] for r in listed["data"]["jobRoles"]] == ["Site supervisor"]


def _bad_inputs(types: dict[str, str], world: World) -> list[tuple[str, dict[str, Any], str, str]]:
    other_org_type = global_id("CredentialType", 10_000)
    return [
        ("no name", {"name": "  "}, "REQUIRED", "name"),
        ("a control character", {"name": "Rigger\u0007"}, "INVALID", "name"),
        ("a name too long", {"name": "x" * 201}, "INVALID", "name"),
        ("a requirement of no type", {"requirements": [{"typeIds": []}]}, "REQUIRED",
         "requirements"),
        (
            "an unknown type",
            {"requirements": [{"typeIds": [types["Forklift licence"], other_org_type]}]},
            "NOT_FOUND",
            "requirements",
        ),
        (
            "a user's id as a type",
            {"requirements": [{"typeIds": [global_id("User", world.user_ids["employee"])]}]},
            "NOT_FOUND",
            "requirements",
        ),
        (
            "too many requirements",
            {"requirements": [{"typeIds": [types["Forklift licence"]]}] * 31},
            "TOO_MANY",
            "requirements",
        ),
    ]  # fmt: skip


BAD_CASES = [
    "no name",
    "a control character",
    "a name too long",
    "a requirement of no type",
    "an unknown type",
    "a user's id as a type",
    "too many requirements",
]


@pytest.mark.parametrize("case", BAD_CASES)
async def test_bad_role_input_is_refused_and_changes_nothing(
    case: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a role already defined
    types = await _types(graphql, world)
    token = world.token("admin")
    role = await create_role(graphql, token, "Rigger", [{"typeIds": [types["Forklift licence"]]}])
    before = await stored_roles(database)
    [(_, given, code, field)] = [c for c in _bad_inputs(types, world) if c[0] == case]

    # when it is created anew, or updated, with the bad input
    create_input = {"name": "Another", **given}
    created = await graphql.execute(CREATE_ROLE, {"input": create_input}, token=token)
    updated = await graphql.execute(
        UPDATE_ROLE, {"input": {"id": role["id"], **given}}, token=token
    )

    # then both are refused with the code and field, and nothing changed
    for payload in (created["data"]["createJobRole"], updated["data"]["updateJobRole"]):
        assert payload["jobRole"] is None
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == (code, field), error
    assert await stored_roles(database) == before


async def test_names_are_unique_in_any_case(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a role named Rigger
    token = world.token("admin")
    await create_role(graphql, token, "Rigger", [])
    before = await stored_roles(database)

    # when another is created as RIGGER
    body = await graphql.execute(CREATE_ROLE, {"input": {"name": "RIGGER"}}, token=token)

    # then DUPLICATE_NAME, and nothing changed
    [error] = body["data"]["createJobRole"]["errors"]
    assert (error["code"], error["field"]) == ("DUPLICATE_NAME", "name")
    assert await stored_roles(database) == before


@pytest.mark.parametrize(
    ("viewer", "defines", "assigns"),
    [
        ("admin", True, True),
        ("credentials_manager", True, True),
        ("users_manager", False, True),
        ("company_manager", False, False),
        ("bolt_contact", False, False),
        ("employee", False, False),
    ],
)
async def test_who_defines_and_who_assigns_roles(
    viewer: str,
    defines: bool,
    assigns: bool,
    graphql: GraphQLClient,
    database: Database,
    world: World,
) -> None:
    # given a role
    role = await create_role(graphql, world.token("admin"), "Rigger", [])
    token = world.token(viewer)
    employee = global_id("User", world.user_ids["employee"])

    # when the viewer creates, renames, assigns and deletes
    created = await graphql.execute(CREATE_ROLE, {"input": {"name": "Other"}}, token=token)
    renamed = await graphql.execute(
        UPDATE_ROLE, {"input": {"id": role["id"], "name": "Renamed"}}, token=token
    )
    assigned = await assign(graphql, token, role["id"], [employee])

    # then definitions need CREDENTIALS_MANAGE; assignment USERS_MANAGE or CREDENTIALS_MANAGE
    for payload in (created["data"]["createJobRole"], renamed["data"]["updateJobRole"]):
        codes = [e["code"] for e in payload["errors"]]
        assert codes == ([] if defines else ["PERMISSION_DENIED"])
    assert [e["code"] for e in assigned["errors"]] == ([] if assigns else ["PERMISSION_DENIED"])
    stored = await stored_roles(database)
    assert [r[0] for r in stored] == (["Renamed", "Other"] if defines else ["Rigger"])
    assert stored[0][3] == ((world.user_ids["employee"],) if assigns else ())


async def test_assigning_and_unassigning_people(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a role
    token = world.token("users_manager")
    role = await create_role(graphql, world.token("admin"), "Rigger", [])
    people = [global_id("User", world.user_ids[r]) for r in ("employee", "acme_worker")]

    # when two people are assigned twice, then one is taken off
    await assign(graphql, token, role["id"], people)
    again = await assign(graphql, token, role["id"], people)
    body = await graphql.execute(
        UNASSIGN, {"input": {"jobRoleId": role["id"], "userIds": people[:1]}}, token=token
    )

    # then assigning is idempotent, and the one left holds the role
    assert again["errors"] == []
    assert [m["name"] for m in again["jobRole"]["members"]] == ["Acme Worker", "Employee"]
    assert again["jobRole"]["memberCount"] == 2
    left = body["data"]["unassignJobRole"]["jobRole"]
    assert [m["name"] for m in left["members"]] == ["Acme Worker"]
    roles_of = await graphql.execute(USER_ROLES, {"id": people[1]}, token=token)
    assert roles_of["data"]["node"]["jobRoles"] == [{"name": "Rigger"}]


@pytest.mark.parametrize(
    "who", ["an unknown user", "another organization's user", "a malformed id"]
)
async def test_assigning_an_unknown_person_changes_nothing(
    who: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a role
    token = world.token("admin")
    role = await create_role(graphql, token, "Rigger", [])
    stranger = {
        "an unknown user": global_id("User", 10_000),
        "another organization's user": global_id("User", world.user_ids["south_worker"]),
        "a malformed id": "not-an-id",
    }[who]
    before = await stored_roles(database)

    # when the stranger is assigned with someone real
    payload = await assign(
        graphql, token, role["id"], [global_id("User", world.user_ids["employee"]), stranger]
    )

    # then NOT_FOUND on userIds, and nobody was assigned
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "userIds")]
    assert await stored_roles(database) == before


async def test_updating_replaces_requirements_and_deleting_leaves_credentials(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a role with one requirement, held by the employee
    types = await _types(graphql, world)
    token = world.token("admin")
    role = await create_role(graphql, token, "Rigger", [{"typeIds": [types["Forklift licence"]]}])
    await assign(graphql, token, role["id"], [global_id("User", world.user_ids["employee"])])

    # when its requirements are replaced, then it is deleted
    body = await graphql.execute(
        UPDATE_ROLE,
        {"input": {"id": role["id"], "description": "Lifts", "requirements": [
            {"typeIds": [types["Paramedic registration"]], "effectiveFrom": "2027-01-01"}
        ]}},
        token=token,
    )  # fmt: skip
    updated = body["data"]["updateJobRole"]["jobRole"]
    deleted = await graphql.execute(DELETE_ROLE, {"id": role["id"]}, token=token)
    again = await graphql.execute(DELETE_ROLE, {"id": role["id"]}, token=token)

    # then the new requirement replaced the old, and the role went with its assignments
    assert updated["description"] == "Lifts"
    assert updated["requirements"] == [
        {"effectiveFrom": "2027-01-01", "types": [{"name": "Paramedic registration"}]}
    ]
    assert deleted["data"]["deleteJobRole"] == {"deletedId": role["id"], "errors": []}
    assert [e["code"] for e in again["data"]["deleteJobRole"]["errors"]] == ["NOT_FOUND"]
    assert await stored_roles(database) == []


async def test_a_type_a_role_requires_cannot_be_deleted(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a role that requires the forklift licence
    types = await _types(graphql, world)
    token = world.token("admin")
    await create_role(graphql, token, "Rigger", [{"typeIds": [types["Forklift licence"]]}])

    # when the type is deleted
    body = await graphql.execute(DELETE_TYPE, {"id": types["Forklift licence"]}, token=token)

    # then TYPE_IN_USE names the role, and the requirement stands
    [error] = body["data"]["deleteCredentialType"]["errors"]
    assert error["code"] == "TYPE_IN_USE"
    assert "'Rigger'" in error["message"]
    assert len((await stored_roles(database))[0][2]) == 1


async def test_the_credentials_list_filters_by_job_role(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a forklift licence each for the employee and the acme worker; the employee
    # holds the role
    types = await _types(graphql, world)
    token = world.token("admin")
    for holder in ("employee", "acme_worker"):
        await create_credential(graphql, token, types["Forklift licence"], world.user_ids[holder])
    role = await create_role(graphql, token, "Rigger", [])
    await assign(graphql, token, role["id"], [global_id("User", world.user_ids["employee"])])

    # when credentials are listed by the role
    body = await graphql.execute(CREDENTIALS_OF_ROLE, {"roles": [role["id"]]}, token=token)

    # then only the role holder's are listed
    connection = body["data"]["credentials"]
    assert [e["node"]["holder"]["name"] for e in connection["edges"]] == ["Employee"]
    assert connection["totalCount"] == 1
