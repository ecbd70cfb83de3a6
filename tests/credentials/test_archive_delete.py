"""Archiving, restoring and deleting many credentials at once, and what a deletion leaves.

The bulk forms answer one result per distinct id, in the order given: each id is done or
refused on its own (a refusal never undoes or blocks the others), and an id the caller may
not see, of another organization or of another type answers NOT_FOUND like a missing one.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from models import AuditEntry, CredentialActivity, CredentialVersion
from models.tenancy import unscoped
from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import (
    FIRST_AID,
    FORKLIFT,
    credential_state,
    event_kinds,
    read_tables,
    seeding,
)
from tests.world import World

LADDER = "Ladder safety"
ERRORS = "errors { code field message }"
BULK = f"results {{ id ok credential {{ id archived }} {ERRORS} }} {ERRORS}"
ARCHIVE_MANY = f"""
mutation ArchiveMany($ids: [ID!]!) {{ archiveCredentials(ids: $ids) {{ {BULK} }} }}
"""
RESTORE_MANY = f"""
mutation RestoreMany($ids: [ID!]!) {{ restoreCredentials(ids: $ids) {{ {BULK} }} }}
"""
DELETE_MANY = f"""
mutation DeleteMany($ids: [ID!]!, $confirm: Boolean!) {{
  deleteCredentials(ids: $ids, confirm: $confirm) {{ {BULK} }}
}}
"""
DELETE = f"""
mutation Delete($id: ID!, $confirm: Boolean!) {{
  deleteCredential(id: $id, confirm: $confirm) {{ deletedId {ERRORS} }}
}}
"""
DELETE_TYPE = f"""
mutation DeleteType($id: ID!) {{ deleteCredentialType(id: $id) {{ deletedId {ERRORS} }} }}
"""
READ = """
query Read($id: ID!, $version: ID!) {
  credential(id: $id) { id }
  node(id: $version) { id }
}
"""


def _credential(key: int) -> str:
    return global_id("Credential", key)


def _raw_global_id(text: str) -> str:
    """A global id of any text, e.g. a credential id whose key is not a number."""
    return base64.b64encode(text.encode()).decode()


def _outcomes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(id, "OK" or the error code) per result, after checking each result is consistent."""
    assert payload["errors"] == [], payload
    outcomes = []
    for result in payload["results"]:
        assert result["ok"] is (result["errors"] == []), result
        if not result["ok"]:
            assert result["credential"] is None, result
            [error] = result["errors"]
            assert error["message"], error
        outcomes.append((result["id"], "OK" if result["ok"] else result["errors"][0]["code"]))
    return outcomes


async def test_archiving_many_reports_each_id_and_a_refusal_undoes_nothing(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given, for Acme's company manager: two live Acme credentials, an archived one, a Bolt
    # credential they cannot see, and one of another organization
    async with seeding(database, world) as seed:
        first_aid, forklift, ladder = [
            await seed.credential_type(name) for name in (FIRST_AID, FORKLIFT, LADDER)
        ]
        acme_live = await seed.credential("acme_worker", first_aid)
        acme_archived = await seed.credential("acme_worker", forklift, archived=True)
        bolt_live = await seed.credential("bolt_worker", first_aid)
        acme_later = await seed.credential("acme_worker", ladder)
    async with seeding(database, world, "south") as seed:
        south_live = await seed.credential("south_worker", await seed.credential_type())
    ids = [
        _credential(acme_live),
        _credential(acme_archived),
        _credential(bolt_live),
        _credential(south_live),
        _credential(acme_live),  # the same id again
        global_id("User", world.user_ids["acme_worker"]),  # an id of another type
        _raw_global_id("Credential:not-a-number"),  # a malformed credential id
        "not-a-global-id",
        _credential(acme_later),
    ]
    events_before = await event_kinds(database)

    # when they archive them all at once
    body = await graphql.execute(ARCHIVE_MANY, {"ids": ids}, token=world.token("company_manager"))

    # then one result per distinct id, in order; the refused ones did not stop the last
    payload = body["data"]["archiveCredentials"]
    assert _outcomes(payload) == [
        (ids[0], "OK"),
        (ids[1], "ARCHIVED"),
        (ids[2], "NOT_FOUND"),
        (ids[3], "NOT_FOUND"),
        (ids[5], "NOT_FOUND"),
        (ids[6], "NOT_FOUND"),
        (ids[7], "NOT_FOUND"),
        (ids[8], "OK"),
    ]
    done = [r["credential"] for r in payload["results"] if r["ok"]]
    assert done == [
        {"id": ids[0], "archived": True},
        {"id": ids[8], "archived": True},
    ]
    # and the stored state agrees: exactly the two were archived, once each
    archived = {
        key: state.archived if (state := await credential_state(database, key)) else None
        for key in (acme_live, acme_archived, bolt_live, south_live, acme_later)
    }
    assert archived == {
        acme_live: True,
        acme_archived: True,
        bolt_live: False,
        south_live: False,
        acme_later: True,
    }
    assert await event_kinds(database) == [
        *events_before,
        ("ARCHIVED", acme_live),
        ("ARCHIVED", acme_later),
    ]


async def test_restoring_many_reports_each_id(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given, for Acme's company manager: archived Acme credentials (two of the same type),
    # a live one, an archived Bolt one they cannot see and an archived one elsewhere
    async with seeding(database, world) as seed:
        first_aid, forklift, ladder = [
            await seed.credential_type(name) for name in (FIRST_AID, FORKLIFT, LADDER)
        ]
        archived = await seed.credential("acme_worker", first_aid, archived=True)
        live = await seed.credential("acme_worker", forklift)
        bolt_archived = await seed.credential("bolt_worker", first_aid, archived=True)
        twin_a = await seed.credential("acme_worker", ladder, archived=True)
        twin_b = await seed.credential("acme_worker", ladder, archived=True, number="FA-2")
    async with seeding(database, world, "south") as seed:
        south = await seed.credential("south_worker", await seed.credential_type(), archived=True)
    keys = [archived, live, bolt_archived, south, twin_a, twin_b]
    ids = [_credential(key) for key in keys]

    # when they restore them all at once
    body = await graphql.execute(RESTORE_MANY, {"ids": ids}, token=world.token("company_manager"))

    # then each is reported: the second of two archived twins would be a duplicate
    payload = body["data"]["restoreCredentials"]
    assert _outcomes(payload) == [
        (ids[0], "OK"),
        (ids[1], "NOT_ARCHIVED"),
        (ids[2], "NOT_FOUND"),
        (ids[3], "NOT_FOUND"),
        (ids[4], "OK"),
        (ids[5], "DUPLICATE_CREDENTIAL"),
    ]
    assert payload["results"][0]["credential"] == {"id": ids[0], "archived": False}
    states = [await credential_state(database, key) for key in keys]
    assert [s.archived if s else None for s in states] == [False, False, True, True, False, True]


async def test_deleting_many_reports_each_id(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given two archived credentials, a live one, and an archived one elsewhere
    async with seeding(database, world) as seed:
        first_aid, forklift = [await seed.credential_type(n) for n in (FIRST_AID, FORKLIFT)]
        archived = await seed.credential("acme_worker", first_aid, archived=True)
        live = await seed.credential("acme_worker", forklift)
        other_archived = await seed.credential("bolt_worker", first_aid, archived=True)
    async with seeding(database, world, "south") as seed:
        south = await seed.credential("south_worker", await seed.credential_type(), archived=True)
    ids = [_credential(k) for k in (archived, live, south, archived, other_archived)]
    audit_before = (await read_tables(database)).count("audit_entries")

    # when a credentials manager deletes them all at once, confirmed
    body = await graphql.execute(
        DELETE_MANY, {"ids": ids, "confirm": True}, token=world.token("credentials_manager")
    )

    # then the archived ones are gone, each with an audit entry; the others stay
    payload = body["data"]["deleteCredentials"]
    assert _outcomes(payload) == [
        (ids[0], "OK"),
        (ids[1], "NOT_ARCHIVED"),
        (ids[2], "NOT_FOUND"),
        (ids[4], "OK"),
    ]
    assert all(result["credential"] is None for result in payload["results"])
    assert [await credential_state(database, k) is None for k in (archived, live, south)] == [
        True,
        False,
        False,
    ]
    assert await credential_state(database, other_archived) is None
    assert (await read_tables(database)).count("audit_entries") == audit_before + 2


async def test_deleting_many_without_confirmation_deletes_none(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given two archived credentials
    async with seeding(database, world) as seed:
        type_id = await seed.credential_type()
        keys = [
            await seed.credential(holder, type_id, archived=True)
            for holder in ("acme_worker", "bolt_worker")
        ]
    before = await read_tables(database)
    ids = [_credential(k) for k in keys]

    # when they are deleted without confirm: true
    body = await graphql.execute(
        DELETE_MANY, {"ids": ids, "confirm": False}, token=world.token("credentials_manager")
    )

    # then each is refused with CONFIRMATION_REQUIRED and nothing changed
    assert _outcomes(body["data"]["deleteCredentials"]) == [
        (ids[0], "CONFIRMATION_REQUIRED"),
        (ids[1], "CONFIRMATION_REQUIRED"),
    ]
    assert await read_tables(database) == before


BULK_FORMS = {
    "archiveCredentials": (ARCHIVE_MANY, {}, False),
    "restoreCredentials": (RESTORE_MANY, {}, True),
    "deleteCredentials": (DELETE_MANY, {"confirm": True}, True),
}


@pytest.mark.parametrize("field", BULK_FORMS)
async def test_more_than_100_ids_are_refused_as_a_whole(
    field: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a credential the call could act on, among 101 ids
    document, extra, archived = BULK_FORMS[field]
    async with seeding(database, world) as seed:
        key = await seed.credential("acme_worker", await seed.credential_type(), archived=archived)
    ids = [_credential(key)] + [_credential(1000 + n) for n in range(100)]
    before = await read_tables(database)

    # when all 101 are sent at once
    body = await graphql.execute(
        document, {"ids": ids, **extra}, token=world.token("credentials_manager")
    )

    # then INVALID on ids, no result, nothing done
    payload = body["data"][field]
    assert payload["results"] == []
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID", "ids")
    assert "101" in error["message"]
    assert await read_tables(database) == before


async def test_100_ids_are_accepted(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given a live credential among 100 ids, 99 of them unknown
    async with seeding(database, world) as seed:
        key = await seed.credential("acme_worker", await seed.credential_type())
    ids = [_credential(1000 + n) for n in range(99)] + [_credential(key)]

    # when they are archived at once
    body = await graphql.execute(
        ARCHIVE_MANY, {"ids": ids}, token=world.token("credentials_manager")
    )

    # then each is reported, and the real one is archived
    outcomes = _outcomes(body["data"]["archiveCredentials"])
    assert outcomes == [(i, "NOT_FOUND") for i in ids[:99]] + [(ids[99], "OK")]
    state = await credential_state(database, key)
    assert state is not None
    assert state.archived


async def test_no_ids_is_nothing_to_do(graphql: GraphQLClient, world: World) -> None:
    # when an empty list is archived
    body = await graphql.execute(
        ARCHIVE_MANY, {"ids": []}, token=world.token("credentials_manager")
    )

    # then there is nothing to report
    assert body["data"]["archiveCredentials"] == {"results": [], "errors": []}


async def _count(
    database: Database, model: type[CredentialVersion | CredentialActivity], credential_id: int
) -> int:
    async with database.read(unscoped()) as session:
        found = await session.scalar(
            select(func.count()).select_from(model).where(model.credential_id == credential_id)
        )
        return int(found or 0)


async def test_a_deletion_cascades_leaves_an_audit_entry_and_frees_the_type(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given an archived credential with two versions and a history, and another credential
    async with seeding(database, world) as seed:
        first_aid, forklift = [await seed.credential_type(n) for n in (FIRST_AID, FORKLIFT)]
        key = await seed.credential("acme_worker", first_aid)
        await seed.approve(key)
        await seed.add_version(key)
        await seed.archive(key)
        other = await seed.credential("bolt_worker", forklift)
    state = await credential_state(database, key)
    assert state is not None
    version_ids = [v.id for v in state.versions]
    assert await _count(database, CredentialActivity, key) > 0
    other_before = (
        await credential_state(database, other),
        await _count(database, CredentialActivity, other),
    )
    events_before = await event_kinds(database)
    admin = world.token("credentials_manager")
    type_id = global_id("CredentialType", first_aid)

    # when its type is deleted, then the credential, then the type again
    in_use = await graphql.execute(DELETE_TYPE, {"id": type_id}, token=admin)
    deleted = await graphql.execute(DELETE, {"id": _credential(key), "confirm": True}, token=admin)
    freed = await graphql.execute(DELETE_TYPE, {"id": type_id}, token=admin)

    # then the type was in use until the credential went, with its versions and activity
    assert [e["code"] for e in in_use["data"]["deleteCredentialType"]["errors"]] == ["TYPE_IN_USE"]
    assert deleted["data"]["deleteCredential"] == {"deletedId": _credential(key), "errors": []}
    assert freed["data"]["deleteCredentialType"] == {"deletedId": type_id, "errors": []}
    assert await credential_state(database, key) is None
    assert await _count(database, CredentialVersion, key) == 0
    assert await _count(database, CredentialActivity, key) == 0
    # and the event log keeps its history, ending with the deletion
    assert await event_kinds(database) == [*events_before, ("DELETED", key)]
    # and an audit entry says what was deleted, by whom, with names copied
    async with database.read(unscoped()) as session:
        [entry] = (await session.scalars(select(AuditEntry))).all()
    assert entry.action == "CREDENTIAL_DELETED"
    assert entry.actor_id == world.user_ids["credentials_manager"]
    assert entry.organization_id == world.north_id
    assert entry.details == {
        "credential_id": key,
        "type_id": first_aid,
        "type_name": FIRST_AID,
        "holder_id": world.user_ids["acme_worker"],
        "holder_name": "Acme Worker",
        "holder_email": "acme_worker@example.com",
        "versions": 2,
    }
    # and nothing of it resolves any more, while the other credential is untouched
    read = await graphql.execute(
        READ,
        {"id": _credential(key), "version": global_id("CredentialVersion", version_ids[-1])},
        token=admin,
    )
    assert read["data"] == {"credential": None, "node": None}
    assert (
        await credential_state(database, other),
        await _count(database, CredentialActivity, other),
    ) == other_before


async def test_a_deleted_credential_cannot_be_deleted_again(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given an archived credential
    async with seeding(database, world) as seed:
        key = await seed.credential("acme_worker", await seed.credential_type(), archived=True)
    admin = world.token("users_manager")
    variables = {"id": _credential(key), "confirm": True}

    # when it is deleted twice
    first = await graphql.execute(DELETE, variables, token=admin)
    second = await graphql.execute(DELETE, variables, token=admin)

    # then the second answers NOT_FOUND, and only one audit entry exists
    assert first["data"]["deleteCredential"]["errors"] == []
    [error] = second["data"]["deleteCredential"]["errors"]
    assert (error["code"], error["field"]) == ("NOT_FOUND", "id")
    assert second["data"]["deleteCredential"]["deletedId"] is None
    assert (await read_tables(database)).count("audit_entries") == 1
