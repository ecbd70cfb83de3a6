"""Inputs a database would choke on get typed errors instead: control characters (NUL is
refused by PostgreSQL) and issue dates too late to propose an expiry date from."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.credentials.factories import (
    CREATE_CREDENTIAL,
    CREATE_TYPE,
    create_credential,
    create_type,
    global_id,
)
from tests.world import World

UPDATE_TYPE_DESCRIPTION = """
mutation Describe($id: ID!, $description: String!) {
  updateCredentialType(id: $id, input: { description: $description }) {
    credentialType { description } errors { code field message }
  }
}
"""
REJECT = """
mutation Reject($id: ID!, $reason: String!) {
  rejectCredential(id: $id, reason: $reason) { errors { code field message } }
}
"""


def _errors(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    assert "errors" not in body, body
    payload = next(iter(body["data"].values()))
    return [(e["code"], e["field"]) for e in payload["errors"]]


@pytest.mark.parametrize("text", ["a\u0000b", "tab\there", "bell\u0007"])
async def test_control_characters_in_a_type_name_are_invalid(
    graphql: GraphQLClient, world: World, text: str
) -> None:
    body = await graphql.execute(
        CREATE_TYPE, {"input": {"name": text}}, token=world.token("credentials_manager")
    )
    assert _errors(body) == [("INVALID", "name")]


async def test_descriptions_and_reasons_may_break_lines_but_hold_no_nul(
    graphql: GraphQLClient, world: World
) -> None:
    manager = world.token("credentials_manager")
    type_id = await create_type(graphql, manager, name="Forklift licence")
    multiline = await graphql.execute(
        UPDATE_TYPE_DESCRIPTION, {"id": type_id, "description": "line 1\nline 2"}, token=manager
    )
    nul = await graphql.execute(
        UPDATE_TYPE_DESCRIPTION, {"id": type_id, "description": "a\u0000b"}, token=manager
    )
    credential = await create_credential(
        graphql, world.token("acme_worker"), type_id, world.user_ids["acme_worker"]
    )
    reason = await graphql.execute(
        REJECT, {"id": credential["id"], "reason": "blurred\u0000"}, token=manager
    )
    assert _errors(multiline) == []
    assert _errors(nul) == [("INVALID", "description")]
    assert _errors(reason) == [("INVALID", "reason")]


async def test_a_nul_in_a_credential_number_is_invalid(
    graphql: GraphQLClient, world: World
) -> None:
    type_id = await create_type(graphql, world.token("credentials_manager"))
    body = await graphql.execute(
        CREATE_CREDENTIAL,
        {
            "input": {
                "typeId": type_id,
                "holderId": global_id("User", world.user_ids["acme_worker"]),
                "issueDate": "2026-01-15",
                "expiryDate": "2029-01-15",
                "credentialNumber": "FA\u00001",
            }
        },
        token=world.token("acme_worker"),
    )
    assert _errors(body) == [("INVALID", "credentialNumber")]


async def test_an_issue_date_too_late_to_propose_an_expiry_is_invalid(
    graphql: GraphQLClient, world: World
) -> None:
    # given a type that proposes expiry dates three years after issue
    type_id = await create_type(
        graphql, world.token("credentials_manager"), defaultValidityMonths=36
    )
    # when a credential issued in the calendar's last year asks for the proposal
    body = await graphql.execute(
        CREATE_CREDENTIAL,
        {
            "input": {
                "typeId": type_id,
                "holderId": global_id("User", world.user_ids["acme_worker"]),
                "issueDate": "9999-06-01",
            }
        },
        token=world.token("acme_worker"),
    )
    # then the issue date is refused, not the request
    assert _errors(body) == [("INVALID", "issueDate")]
