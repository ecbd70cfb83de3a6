"""Faults outside the service: an SMTP server that hangs mid-send delays mail and nothing
else (requests, the sweep, readiness, in-app notifications), and an SMTP_URL that cannot
work refuses the start, saying why, without repeating its password."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from models.base import utcnow
from models.delivery import Delivery, DeliveryStatus
from models.tenancy import unscoped
from server.database import Database
from server.expiry_scheduler import run_sweep
from server.settings import normalize_database_url
from tests.credentials.factories import APPROVE, CREATE_CREDENTIAL, CREATE_TYPE
from tests.delivery.mail_server import MailServer
from tests.server.process import RunningServer, running_server, serve_until_exit

ME = "{ me { id } }"
NOTIFICATIONS = "{ notifications { totalCount } }"


class _Api:
    def __init__(self, server: RunningServer) -> None:
        self.http = httpx.Client(base_url=server.base_url, trust_env=False, timeout=10.0)
        self.tokens = server.demo_tokens()

    def run(self, role: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.tokens[role]}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def approved_credential_of_sam(self, type_name: str) -> None:
        sam = self.run("Sam Shaw", ME)["me"]["id"]
        created_type = self.run("Ada Admin", CREATE_TYPE, {"input": {"name": type_name}})
        type_id = created_type["createCredentialType"]["credentialType"]["id"]
        created = self.run(
            "Ada Admin",
            CREATE_CREDENTIAL,
            {
                "input": {
                    "typeId": type_id,
                    "holderId": sam,
                    "issueDate": "2026-01-15",
                    "expiryDate": "2029-01-15",
                }
            },
        )
        assert created["createCredential"]["errors"] == [], created
        credential_id = created["createCredential"]["credential"]["id"]
        approved = self.run("Casey Clerk", APPROVE, {"id": credential_id})
        assert approved["approveCredential"]["errors"] == []


@pytest.fixture
def hanging_smtp(smtp: MailServer) -> Iterator[MailServer]:
    """Takes the first message, then never answers it."""
    smtp.handler.hold_at = 1
    yield smtp
    smtp.handler.release()


async def test_a_hanging_smtp_server_blocks_neither_requests_nor_the_sweep_nor_readiness(
    tmp_path: Path, hanging_smtp: MailServer, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    env = {"DATABASE_URL": url, "SMTP_URL": hanging_smtp.url(), "SMTP_TIMEOUT_S": "600"}
    with running_server(env) as server:
        api = _Api(server)
        request.addfinalizer(api.http.close)
        # Given the service's worker stuck sending an approval's email
        api.approved_credential_of_sam("Test licence A")
        assert await asyncio.to_thread(hanging_smtp.handler.holding.wait, 30)

        # When people go on working, and the expiry sweep runs beside it
        api.approved_credential_of_sam("Test licence B")
        ready = api.http.get("/readyz")
        database = Database(normalize_database_url(url), sqlite_busy_timeout_ms=2_000)
        try:
            await run_sweep(database, utcnow)
            async with database.read(unscoped()) as session:
                rows = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
        finally:
            await database.dispose()

        # Then requests, readiness, the sweep (no transaction is held while sending) and
        # in-app notifications are unaffected; the mail waits, claimed, none of it lost
        assert ready.status_code == 200, ready.text
        assert api.run("Sam Shaw", NOTIFICATIONS)["notifications"]["totalCount"] >= 2
        assert rows
        assert {r.status for r in rows} == {DeliveryStatus.PENDING}
        assert any(r.claimed_until is not None for r in rows)


@pytest.mark.parametrize(
    ("smtp_url", "message"),
    [
        ("http://mail.example.com", "SMTP_URL must start with smtp://"),
        ("smtp://mailer:hunter2@mail.example.com:notaport", "port that is not a number"),
        ("smtp://mailer:hunter2@:25", "SMTP_URL names no host"),
    ],
)
def test_an_smtp_url_that_cannot_work_refuses_the_start(
    tmp_path: Path, smtp_url: str, message: str
) -> None:
    exited = serve_until_exit(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SMTP_URL": smtp_url}
    )

    assert exited.returncode == 2, exited.output
    assert message in exited.output
    assert "hunter2" not in exited.output


def test_an_smtp_ca_file_that_cannot_be_read_refuses_the_start(tmp_path: Path) -> None:
    missing = tmp_path / "relay-ca.pem"
    exited = serve_until_exit(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "SMTP_URL": "smtps://mail.example.com",
            "SMTP_CA_FILE": str(missing),
        }
    )

    assert exited.returncode == 2, exited.output
    assert f"SMTP_CA_FILE={str(missing)!r} cannot be used (no such file" in exited.output
