"""Submitting credentials with files as clients do, for the media tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.credentials.factories import global_id
from tests.media.conftest import MediaApp
from tests.media.files import File, post_files
from tests.world import World

VERSION = """
  number approvalStatus
  media { id filename contentType size }
  activity { action field oldValue newValue }
"""
PAYLOAD = f"""
  credential {{ id revision latestVersion {{ {VERSION} }} }}
  errors {{ code field message }}
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
CREDENTIALS = "query Credentials { credentials { totalCount } }"
UPDATE_SETTINGS = """
mutation Settings($input: UpdateCredentialSettingsInput!) {
  updateCredentialSettings(input: $input) { errors { code } }
}
"""
ARCHIVE = "mutation Archive($id: ID!) { archiveCredential(id: $id) { errors { code } } }"
DELETE = """
mutation Delete($id: ID!) { deleteCredential(id: $id, confirm: true) { deletedId errors { code } } }
"""
DELETE_MANY = """
mutation DeleteMany($ids: [ID!]!) {
  deleteCredentials(ids: $ids, confirm: true) { results { ok } errors { code } }
}
"""


def submission(world: World, type_id: str, holder: str = "employee") -> dict[str, Any]:
    return {
        "input": {
            "typeId": type_id,
            "holderId": global_id("User", world.user_ids[holder]),
            "issueDate": "2026-01-15",
            "expiryDate": "2029-01-15",
        }
    }


def files_at(field: str, *files: File) -> dict[str, File]:
    return {f"{field}.{i}": file for i, file in enumerate(files)}


def payload_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def submit(
    app: MediaApp, world: World, type_id: str, *files: File, holder: str = "employee"
) -> dict[str, Any]:
    token = world.token(holder)
    response = await post_files(
        app.http, CREATE, submission(world, type_id, holder), files_at("input.media", *files), token
    )
    return payload_of(response)


async def credential_count(app: MediaApp, world: World) -> int:
    body = await app.graphql.execute(CREDENTIALS, token=world.token("admin"))
    count: int = body["data"]["credentials"]["totalCount"]
    return count
