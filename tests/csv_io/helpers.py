"""Uploading CSV files to importCredentials as a client does (GraphQL multipart request)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert

from models.tenancy import unscoped
from models.user import User
from server.database import Database
from tests.conftest import GraphQLClient

JOB_FIELDS = """
  id status dryRun rowsRead createdCount versionedCount unchangedCount failedCount
  results { rowNumber column code message }
"""
IMPORT = f"""
mutation Import($file: Upload!, $dryRun: Boolean, $approveAll: Boolean,
                $policy: ImportErrorPolicy) {{
  importCredentials(file: $file, dryRun: $dryRun, approveAll: $approveAll,
                    errorPolicy: $policy) {{
    job {{ {JOB_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""
JOB = f"query Job($id: ID!) {{ importJob(id: $id) {{ {JOB_FIELDS} }} }}"
HEADER = "Holder email,Credential type,Issue date,Expiry date,Credential number\n"


async def upload(
    graphql: GraphQLClient,
    token: str,
    content: bytes | str,
    *,
    dry_run: bool = False,
    approve_all: bool = False,
    policy: str = "REJECT_EVERYTHING",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    variables = {"file": None, "dryRun": dry_run, "approveAll": approve_all, "policy": policy}
    operations = {"query": IMPORT, "variables": variables}
    return await graphql.http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("register.csv", data, "text/csv")},
        headers={
            "Authorization": f"Bearer {token}",
            **({"X-Requested-With": "test"} if headers is None else headers),
        },
    )


async def import_csv(
    graphql: GraphQLClient, token: str, content: bytes | str, **options: Any
) -> dict[str, Any]:
    """The importCredentials payload; fails the test on a non-200 answer."""
    response = await upload(graphql, token, content, **options)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["importCredentials"]
    job = payload["job"]
    if job is not None and job["status"] == "RUNNING":
        # A large file runs in the background: wait for it, then read the job as it ended.
        transport = graphql.http._transport
        assert isinstance(transport, httpx.ASGITransport)
        await transport.app.state.imports.finished()  # type: ignore[attr-defined]
        ended = await graphql.execute(JOB, {"id": job["id"]}, token=token)
        payload["job"] = ended["data"]["importJob"]
    return payload


async def add_workers(database: Database, organization_id: int, count: int) -> list[str]:
    """Many active users at once (set-based, as a test fixture needs them)."""
    now = datetime.now(UTC)
    emails = [f"worker{n}@example.com" for n in range(count)]
    async with database.transaction(unscoped()) as session:
        connection = await session.connection()
        await connection.execute(
            insert(User.__table__),  # type: ignore[arg-type]
            [
                {
                    "organization_id": organization_id,
                    "name": f"Worker {n}",
                    "name_key": f"worker {n}",
                    "email": email,
                    "email_key": email,
                    "is_active": True,
                    "created_at": now,
                }
                for n, email in enumerate(emails)
            ],
        )
    return emails
