"""Shared helpers for credential tests: global ids and the common mutations, as clients
send them."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import GraphQLClient

CREATE_TYPE = """
mutation CreateType($input: CreateCredentialTypeInput!) {
  createCredentialType(input: $input) {
    credentialType { id name }
    errors { code field message }
  }
}
"""

CREATE_CREDENTIAL = """
mutation Create($input: CreateCredentialInput!) {
  createCredential(input: $input) {
    credential { id revision latestVersion { id number approvalStatus } }
    errors { code field message }
  }
}
"""

APPROVE = """
mutation Approve($id: ID!) {
  approveCredential(id: $id) {
    credential { id revision latestVersion { approvalStatus } }
    errors { code field message }
  }
}
"""


def global_id(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def local_key(value: str) -> int:
    return int(base64.b64decode(value).decode().split(":", 1)[1])


async def create_type(graphql: GraphQLClient, token: str, **fields: Any) -> str:
    """A credential type's global id; `fields` go into CreateCredentialTypeInput."""
    fields.setdefault("name", "First aid certificate")
    body = await graphql.execute(CREATE_TYPE, {"input": fields}, token=token)
    payload = body["data"]["createCredentialType"]
    assert payload["errors"] == [], payload
    return str(payload["credentialType"]["id"])


async def create_credential(
    graphql: GraphQLClient, token: str, type_id: str, holder_key: int, **fields: Any
) -> dict[str, Any]:
    """The created credential (id, revision, latestVersion); fails the test if refused."""
    variables = {
        "input": {
            "typeId": type_id,
            "holderId": global_id("User", holder_key),
            "issueDate": "2026-01-15",
            "expiryDate": "2029-01-15",
            **fields,
        }
    }
    body = await graphql.execute(CREATE_CREDENTIAL, variables, token=token)
    payload = body["data"]["createCredential"]
    assert payload["errors"] == [], payload
    credential: dict[str, Any] = payload["credential"]
    return credential


async def approve(graphql: GraphQLClient, token: str, credential_id: str) -> dict[str, Any]:
    body = await graphql.execute(APPROVE, {"id": credential_id}, token=token)
    payload: dict[str, Any] = body["data"]["approveCredential"]
    return payload
