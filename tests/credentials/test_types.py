"""Credential types through GraphQL: creating, changing and deleting them, their rules and
defaults, names unique per organization whatever their case, and who may manage them."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.credentials.factories import create_credential, create_type, global_id
from tests.races import meet_before
from tests.world import World

TYPE_FIELDS = """
  id name description issueDateRule expiryDateRule mediaRule defaultValidityMonths neverExpires
"""
CREATE_TYPE = f"""
mutation CreateType($input: CreateCredentialTypeInput!) {{
  createCredentialType(input: $input) {{
    credentialType {{ {TYPE_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""
UPDATE_TYPE = f"""
mutation UpdateType($id: ID!, $input: UpdateCredentialTypeInput!) {{
  updateCredentialType(id: $id, input: $input) {{
    credentialType {{ {TYPE_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""
DELETE_TYPE = """
mutation DeleteType($id: ID!) {
  deleteCredentialType(id: $id) { deletedId errors { code field message } }
}
"""
TYPES = f"query Types {{ credentialTypes {{ {TYPE_FIELDS} }} }}"
TYPE_NODE = f"""
query TypeNode($id: ID!) {{ node(id: $id) {{ ... on CredentialType {{ {TYPE_FIELDS} }} }} }}
"""
ARCHIVE = """
mutation Archive($id: ID!) { archiveCredential(id: $id) { errors { code } } }
"""
DELETE_CREDENTIAL = """
mutation DeleteCredential($id: ID!) {
  deleteCredential(id: $id, confirm: true) { deletedId errors { code } }
}
"""

FIRST_AID = "First aid certificate"
DEFAULTS = {
    "description": "",
    "issueDateRule": "REQUIRED",
    "expiryDateRule": "REQUIRED",
    "mediaRule": "OPTIONAL",
    "defaultValidityMonths": None,
    "neverExpires": False,
}
NOT_MANAGERS = ["users_manager", "company_manager", "acme_worker", "bolt_contact", "employee"]


async def _create(graphql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await graphql.execute(CREATE_TYPE, {"input": fields}, token=token)
    payload: dict[str, Any] = body["data"]["createCredentialType"]
    return payload


async def _update(
    graphql: GraphQLClient, token: str, type_id: str, **fields: Any
) -> dict[str, Any]:
    body = await graphql.execute(UPDATE_TYPE, {"id": type_id, "input": fields}, token=token)
    payload: dict[str, Any] = body["data"]["updateCredentialType"]
    return payload


async def _delete(graphql: GraphQLClient, token: str, type_id: str) -> dict[str, Any]:
    body = await graphql.execute(DELETE_TYPE, {"id": type_id}, token=token)
    payload: dict[str, Any] = body["data"]["deleteCredentialType"]
    return payload


async def _types(graphql: GraphQLClient, token: str) -> list[dict[str, Any]]:
    body = await graphql.execute(TYPES, token=token)
    types: list[dict[str, Any]] = body["data"]["credentialTypes"]
    return types


def _codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _outcome(body: dict[str, Any], mutation: str) -> str:
    """OK, the first error code of the payload, or the top-level error's code."""
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    payload = body["data"][mutation]
    return str(payload["errors"][0]["code"]) if payload["errors"] else "OK"


def _without_id(credential_type: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in credential_type.items() if k != "id"}


# Creation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({"name": FIRST_AID}, {"name": FIRST_AID, **DEFAULTS}, id="defaults"),
        pytest.param(
            {
                "name": "  Forklift licence  ",
                "description": "  LF class, from an accredited provider.  ",
                "issueDateRule": "OPTIONAL",
                "expiryDateRule": "OPTIONAL",
                "mediaRule": "REQUIRED",
                "defaultValidityMonths": 60,
            },
            {
                "name": "Forklift licence",
                "description": "LF class, from an accredited provider.",
                "issueDateRule": "OPTIONAL",
                "expiryDateRule": "OPTIONAL",
                "mediaRule": "REQUIRED",
                "defaultValidityMonths": 60,
                "neverExpires": False,
            },
            id="every field, trimmed",
        ),
        pytest.param(
            {"name": "Induction", "issueDateRule": "NOT_USED", "mediaRule": "NOT_USED"},
            {
                **DEFAULTS,
                "name": "Induction",
                "issueDateRule": "NOT_USED",
                "mediaRule": "NOT_USED",
            },
            id="details not used",
        ),
        pytest.param(
            {"name": "Trade certificate", "neverExpires": True, "expiryDateRule": "REQUIRED"},
            {
                **DEFAULTS,
                "name": "Trade certificate",
                "neverExpires": True,
                "expiryDateRule": "NOT_USED",
            },
            id="never expires: no expiry date asked for",
        ),
    ],
)
async def test_a_credentials_manager_creates_a_type(
    graphql: GraphQLClient, world: World, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    # given a credentials manager
    token = world.token("credentials_manager")
    # when they create a type
    payload = await _create(graphql, token, **given)
    # then it is created as asked, with the defaults for what was left out
    assert payload["errors"] == []
    created = payload["credentialType"]
    assert _without_id(created) == expected
    # and it is listed, and fetched by its id, just the same
    assert await _types(graphql, token) == [created]
    body = await graphql.execute(TYPE_NODE, {"id": created["id"]}, token=token)
    assert body["data"]["node"] == created


INVALID_TYPES: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {
    "empty name": ({"name": ""}, ("REQUIRED", "name")),
    "blank name": ({"name": "   "}, ("REQUIRED", "name")),
    "name over 200": ({"name": "x" * 201}, ("INVALID", "name")),
    "no months": ({"defaultValidityMonths": 0}, ("INVALID", "defaultValidityMonths")),
    "negative months": ({"defaultValidityMonths": -12}, ("INVALID", "defaultValidityMonths")),
    "over 100 years": ({"defaultValidityMonths": 1201}, ("INVALID", "defaultValidityMonths")),
    "never expires with a validity": (
        {"neverExpires": True, "defaultValidityMonths": 12},
        ("INVALID", "defaultValidityMonths"),
    ),
    "no expiry date on a type that expires": (
        {"expiryDateRule": "NOT_USED"},
        ("INVALID", "expiryDateRule"),
    ),
    "a validity without an issue date": (
        {"issueDateRule": "NOT_USED", "defaultValidityMonths": 12},
        ("INVALID", "defaultValidityMonths"),
    ),
}


async def test_an_invalid_type_is_refused_and_not_created(
    graphql: GraphQLClient, world: World
) -> None:
    # given a credentials manager
    token = world.token("credentials_manager")
    # when they create each invalid type of the table
    refusals = {}
    for case, (fields, _) in INVALID_TYPES.items():
        payload = await _create(graphql, token, **{"name": FIRST_AID, **fields})
        assert payload["credentialType"] is None
        assert all(e["message"] for e in payload["errors"])
        refusals[case] = _codes(payload)
    # then each is refused, naming the field at fault, and nothing is created
    assert refusals == {case: [error] for case, (_, error) in INVALID_TYPES.items()}
    assert await _types(graphql, token) == []


async def test_the_default_validity_may_be_one_month_to_a_hundred_years(
    graphql: GraphQLClient, world: World
) -> None:
    # given a credentials manager / when they create types with a default validity
    token = world.token("admin")
    for months in [1, 36, 1200]:
        payload = await _create(
            graphql, token, name=f"Valid for {months}", defaultValidityMonths=months
        )
        # then it is kept
        assert payload["errors"] == []
        assert payload["credentialType"]["defaultValidityMonths"] == months


# Names --------------------------------------------------------------------------------


async def test_a_name_is_unique_in_an_organization_whatever_its_case(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type
    token = world.token("credentials_manager")
    await create_type(graphql, token, name=FIRST_AID)
    same_names = [FIRST_AID, FIRST_AID.lower(), FIRST_AID.upper(), "  First Aid Certificate  "]
    for name in same_names:
        # when another is created with the same name, in any case
        payload = await _create(graphql, token, name=name)
        # then it is refused, naming the type that exists
        assert _codes(payload) == [("DUPLICATE_NAME", "name")]
        assert repr(FIRST_AID) in payload["errors"][0]["message"]
    # and only the first one remains
    assert [t["name"] for t in await _types(graphql, token)] == [FIRST_AID]


async def test_another_organization_may_use_the_same_name(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type in the north organization
    await create_type(graphql, world.token("admin"), name=FIRST_AID)
    # when the south organization creates one of the same name
    payload = await _create(graphql, world.token("south_admin"), name=FIRST_AID.upper())
    # then it is created
    assert payload["errors"] == []
    assert payload["credentialType"]["name"] == FIRST_AID.upper()


async def test_renaming_onto_another_types_name_is_refused(
    graphql: GraphQLClient, world: World
) -> None:
    # given two types
    token = world.token("credentials_manager")
    await create_type(graphql, token, name="Forklift licence")
    first_aid = await create_type(graphql, token, name=FIRST_AID)
    for new_name in ["Forklift licence", "FORKLIFT LICENCE", " forklift licence "]:
        # when one is renamed to the other's name, in any case
        payload = await _update(graphql, token, first_aid, name=new_name)
        # then it is refused
        assert _codes(payload) == [("DUPLICATE_NAME", "name")]
    # and both keep their names
    assert [t["name"] for t in await _types(graphql, token)] == [FIRST_AID, "Forklift licence"]


async def test_a_type_may_change_the_case_of_its_own_name(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type
    token = world.token("credentials_manager")
    type_id = await create_type(graphql, token, name="First Aid Certificate")
    # when it is renamed to its own name in another case
    payload = await _update(graphql, token, type_id, name=FIRST_AID)
    # then the new spelling is kept
    assert payload["errors"] == []
    assert [t["name"] for t in await _types(graphql, token)] == [FIRST_AID]


async def test_two_types_of_the_same_name_created_at_once_make_one_type(
    graphql: GraphQLClient, world: World, backend: str
) -> None:
    # given a credentials manager who sends the same creation twice at once; on SQLite
    # write transactions are serialized by BEGIN IMMEDIATE, on PostgreSQL both are made to
    # check the name before either inserts
    token = world.token("credentials_manager")
    meeting = (
        meet_before("INSERT INTO credential_types") if backend == "postgres" else nullcontext()
    )
    # when both run
    with meeting:
        responses = await asyncio.gather(
            graphql.post(CREATE_TYPE, {"input": {"name": FIRST_AID}}, token),
            graphql.post(CREATE_TYPE, {"input": {"name": FIRST_AID}}, token),
        )
    # then one creates the type and the other is told the name is taken
    assert sorted(_outcome(r.json(), "createCredentialType") for r in responses) == [
        "DUPLICATE_NAME",
        "OK",
    ]
    assert [t["name"] for t in await _types(graphql, token)] == [FIRST_AID]


# Changes ------------------------------------------------------------------------------


async def test_fields_left_out_of_an_update_keep_their_values(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type with every field set
    token = world.token("credentials_manager")
    created = (
        await _create(
            graphql,
            token,
            name=FIRST_AID,
            description="Level 2",
            issueDateRule="REQUIRED",
            expiryDateRule="OPTIONAL",
            mediaRule="REQUIRED",
            defaultValidityMonths=36,
        )
    )["credentialType"]
    # when only its description changes
    payload = await _update(graphql, token, created["id"], description="Level 3")
    # then everything else is as it was
    assert payload["errors"] == []
    assert payload["credentialType"] == {**created, "description": "Level 3"}
    assert await _types(graphql, token) == [payload["credentialType"]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"name": "First aid (level 2)"}, {"name": "First aid (level 2)"}, id="name"),
        pytest.param(
            {"issueDateRule": "OPTIONAL", "mediaRule": "NOT_USED"},
            {"issueDateRule": "OPTIONAL", "mediaRule": "NOT_USED"},
            id="rules",
        ),
        pytest.param(
            {"defaultValidityMonths": None}, {"defaultValidityMonths": None}, id="null validity"
        ),
        pytest.param(
            {"defaultValidityMonths": 1200}, {"defaultValidityMonths": 1200}, id="longest validity"
        ),
        pytest.param(
            {"neverExpires": True, "defaultValidityMonths": None},
            {"neverExpires": True, "expiryDateRule": "NOT_USED", "defaultValidityMonths": None},
            id="never expires",
        ),
    ],
)
async def test_a_type_is_changed(
    graphql: GraphQLClient, world: World, change: dict[str, Any], expected: dict[str, Any]
) -> None:
    # given a type with a default validity
    token = world.token("admin")
    created = (await _create(graphql, token, name=FIRST_AID, defaultValidityMonths=36))[
        "credentialType"
    ]
    # when it is changed
    payload = await _update(graphql, token, created["id"], **change)
    # then the change, and only it, is saved
    assert payload["errors"] == []
    assert await _types(graphql, token) == [{**created, **expected}]


INVALID_CHANGES: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {
    "blank name": ({"name": " "}, ("REQUIRED", "name")),
    "no months": ({"defaultValidityMonths": 0}, ("INVALID", "defaultValidityMonths")),
    "too long": ({"defaultValidityMonths": 1201}, ("INVALID", "defaultValidityMonths")),
    "never expires, validity kept": (
        {"neverExpires": True},
        ("INVALID", "defaultValidityMonths"),
    ),
    "expiry not used": ({"expiryDateRule": "NOT_USED"}, ("INVALID", "expiryDateRule")),
    "validity without an issue date": (
        {"issueDateRule": "NOT_USED"},
        ("INVALID", "defaultValidityMonths"),
    ),
    "one invalid field of several": (
        {"description": "changed too", "mediaRule": "REQUIRED", "defaultValidityMonths": -1},
        ("INVALID", "defaultValidityMonths"),
    ),
}


async def test_an_invalid_change_is_refused_and_changes_nothing(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type with a default validity
    token = world.token("admin")
    created = (await _create(graphql, token, name=FIRST_AID, defaultValidityMonths=36))[
        "credentialType"
    ]
    # when each invalid change of the table is asked for
    refusals = {}
    for case, (change, _) in INVALID_CHANGES.items():
        payload = await _update(graphql, token, created["id"], **change)
        assert payload["credentialType"] is None
        refusals[case] = _codes(payload)
    # then each is refused, naming the field at fault, and the type is as it was
    assert refusals == {case: [error] for case, (_, error) in INVALID_CHANGES.items()}
    assert await _types(graphql, token) == [created]


async def test_a_type_that_never_expires_may_expire_again(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type that never expires
    token = world.token("admin")
    type_id = (await _create(graphql, token, name=FIRST_AID, neverExpires=True))["credentialType"][
        "id"
    ]
    # when it is made to expire without saying whether the expiry date is asked for
    refused = await _update(graphql, token, type_id, neverExpires=False)
    # then that is refused: its expiry date is still not used
    assert _codes(refused) == [("INVALID", "expiryDateRule")]
    # when it is made to expire with a rule for the expiry date and a default validity
    payload = await _update(
        graphql,
        token,
        type_id,
        neverExpires=False,
        expiryDateRule="REQUIRED",
        defaultValidityMonths=24,
    )
    # then it expires again
    assert payload["errors"] == []
    changed = payload["credentialType"]
    assert (
        changed["neverExpires"],
        changed["expiryDateRule"],
        changed["defaultValidityMonths"],
    ) == (
        False,
        "REQUIRED",
        24,
    )


async def test_an_unknown_type_is_not_found(graphql: GraphQLClient, world: World) -> None:
    # given ids of no type: a missing one, and a user's
    token = world.token("admin")
    for type_id in [global_id("CredentialType", 999), global_id("User", world.user_ids["admin"])]:
        # when it is changed or deleted / then it is not found
        assert _codes(await _update(graphql, token, type_id, name="Any")) == [("NOT_FOUND", "id")]
        assert _codes(await _delete(graphql, token, type_id)) == [("NOT_FOUND", "id")]


# Deletion -----------------------------------------------------------------------------


async def test_an_unused_type_is_deleted(graphql: GraphQLClient, world: World) -> None:
    # given two types, neither used
    token = world.token("credentials_manager")
    first_aid = await create_type(graphql, token, name=FIRST_AID)
    await create_type(graphql, token, name="Forklift licence")
    # when one is deleted
    payload = await _delete(graphql, token, first_aid)
    # then it is gone, and only it
    assert payload == {"deletedId": first_aid, "errors": []}
    assert [t["name"] for t in await _types(graphql, token)] == ["Forklift licence"]
    body = await graphql.execute(TYPE_NODE, {"id": first_aid}, token=token)
    assert body["data"]["node"] is None


async def test_a_type_in_use_is_not_deleted_while_any_credential_of_it_exists(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type with one live and one archived credential
    token = world.token("admin")
    type_id = await create_type(graphql, token, name=FIRST_AID)
    live = await create_credential(graphql, token, type_id, world.user_ids["employee"])
    archived = await create_credential(graphql, token, type_id, world.user_ids["acme_worker"])
    body = await graphql.execute(ARCHIVE, {"id": archived["id"]}, token=token)
    assert body["data"]["archiveCredential"]["errors"] == []

    # when the type is deleted / then it is refused, archived credentials counting too
    payload = await _delete(graphql, token, type_id)
    assert _codes(payload) == [("TYPE_IN_USE", "id")]
    assert FIRST_AID in payload["errors"][0]["message"]

    # when only the archived credential is left / then it is still refused
    body = await graphql.execute(ARCHIVE, {"id": live["id"]}, token=token)
    assert body["data"]["archiveCredential"]["errors"] == []
    body = await graphql.execute(DELETE_CREDENTIAL, {"id": live["id"]}, token=token)
    assert body["data"]["deleteCredential"]["errors"] == []
    assert _codes(await _delete(graphql, token, type_id)) == [("TYPE_IN_USE", "id")]
    assert [t["name"] for t in await _types(graphql, token)] == [FIRST_AID]

    # when the last credential is deleted too / then the type may go
    body = await graphql.execute(DELETE_CREDENTIAL, {"id": archived["id"]}, token=token)
    assert body["data"]["deleteCredential"]["errors"] == []
    assert (await _delete(graphql, token, type_id))["errors"] == []
    assert await _types(graphql, token) == []


# Who may manage types -----------------------------------------------------------------


async def test_only_credentials_managers_manage_types(graphql: GraphQLClient, world: World) -> None:
    # given a type
    admin = world.token("admin")
    created = (await _create(graphql, admin, name=FIRST_AID))["credentialType"]
    for role in NOT_MANAGERS:
        # when someone without CREDENTIALS_MANAGE creates, changes or deletes a type
        token = world.token(role)
        refusals = [
            await _create(graphql, token, name="Forklift licence"),
            await _update(graphql, token, created["id"], name="Renamed"),
            await _delete(graphql, token, created["id"]),
        ]
        # then each is refused as not permitted, saying what is needed
        for payload in refusals:
            assert _codes(payload) == [("PERMISSION_DENIED", None)], role
            assert "CREDENTIALS_MANAGE" in payload["errors"][0]["message"]
    # and nothing changed
    assert await _types(graphql, admin) == [created]


async def test_types_of_another_organization_are_not_there(
    graphql: GraphQLClient, world: World
) -> None:
    # given types in the north organization
    north = world.token("admin")
    first_aid = await create_type(graphql, north, name=FIRST_AID)
    await create_type(graphql, north, name="Forklift licence")
    south = world.token("south_admin")

    # when the south organization lists types / then it sees none of them
    assert await _types(graphql, south) == []
    assert await _types(graphql, world.token("south_worker")) == []
    # when it fetches, changes or deletes one of them / then it is not found
    body = await graphql.execute(TYPE_NODE, {"id": first_aid}, token=south)
    assert body["data"]["node"] is None
    assert _codes(await _update(graphql, south, first_aid, name="Mine")) == [("NOT_FOUND", "id")]
    assert _codes(await _delete(graphql, south, first_aid)) == [("NOT_FOUND", "id")]
    # and the north organization's types are untouched
    assert [t["name"] for t in await _types(graphql, north)] == [FIRST_AID, "Forklift licence"]


async def test_types_are_listed_by_name_whatever_its_case(
    graphql: GraphQLClient, world: World
) -> None:
    # given types created out of order, in mixed case
    token = world.token("admin")
    for name in ["working at heights", "Forklift licence", "asbestos awareness", "Crane"]:
        await create_type(graphql, token, name=name)
    # when any member of the organization lists them / then they come by name, any case
    for role in ["admin", "employee", "acme_worker"]:
        names = [t["name"] for t in await _types(graphql, world.token(role))]
        assert names == ["asbestos awareness", "Crane", "Forklift licence", "working at heights"]
