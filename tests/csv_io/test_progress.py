"""A large import runs in the background of a real server; importJobProgress follows it
over graphql-transport-ws to its end, and importJob reads the same end; importJob shows an
import held between two batches mid-run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from models.base import utcnow
from server.database import Database
from server.imports import ImportRunner
from server.settings import Settings
from services.csv_io.jobs import JobReport
from tests.conftest import GraphQLClient
from tests.credentials.factories import create_type
from tests.csv_io.helpers import HEADER, add_workers, upload
from tests.events.live import http_graphql, live_app, subscriber
from tests.world import World

ROWS = 20_000  # over 1 MB: imported in the background
PROGRESS = """
subscription Progress($id: ID!) {
  importJobProgress(id: $id) { status rowsRead createdCount failedCount }
}
"""
JOB = "query Job($id: ID!) { importJob(id: $id) { status rowsRead createdCount } }"


@pytest.fixture
async def served(
    settings: Settings, database: Database
) -> AsyncIterator[tuple[str, GraphQLClient]]:
    async with (
        live_app(replace(settings, expiry_scheduler=False), utcnow) as (_, address),
        http_graphql(address) as client,
    ):
        yield address, client


async def test_progress_of_a_background_import_reaches_its_end(
    served: tuple[str, GraphQLClient], world: World, database: Database
) -> None:
    address, client = served
    # Given a file of 20,000 rows, one per worker
    await create_type(client, world.token("admin"), name="First Aid")
    emails = await add_workers(database, world.north_id, ROWS)
    content = HEADER + "".join(
        f"{email},First Aid,2026-01-10,2029-01-10,FA-{n}\n" for n, email in enumerate(emails)
    )
    assert len(content) > 1024 * 1024
    # When it is imported and its progress followed
    response = await upload(client, world.token("admin"), content)
    job = response.json()["data"]["importCredentials"]["job"]
    assert job["status"] == "RUNNING"
    async with subscriber(address, world.token("admin")) as admin:
        operation = await admin.subscribe(PROGRESS, {"id": job["id"]})
        updates = []
        while (message := await admin.receive())["type"] == "next":
            assert message["id"] == operation
            updates.append(message["payload"]["data"]["importJobProgress"])
    # Then the updates never go back and end with the finished job
    assert message["type"] == "complete", message
    rows_read = [update["rowsRead"] for update in updates]
    assert rows_read == sorted(rows_read)
    assert updates[-1] == {
        "status": "SUCCEEDED",
        "rowsRead": ROWS,
        "createdCount": ROWS,
        "failedCount": 0,
    }
    # And the job query says the same
    found = await client.execute(JOB, {"id": job["id"]}, token=world.token("admin"))
    assert found["data"]["importJob"] == {
        "status": "SUCCEEDED",
        "rowsRead": ROWS,
        "createdCount": ROWS,
    }


def _runner_of(client: GraphQLClient) -> ImportRunner:
    transport = client.http._transport
    assert isinstance(transport, httpx.ASGITransport)
    runner: ImportRunner = transport.app.state.imports  # type: ignore[attr-defined]
    return runner


async def test_import_job_shows_the_progress_of_a_running_import(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # Given a file of 20,000 rows (several batches, imported in the background), and
    # imports held after their first batch until the test lets them go
    await create_type(graphql, world.token("admin"), name="First Aid")
    emails = await add_workers(database, world.north_id, ROWS)
    content = HEADER + "".join(
        f"{email},First Aid,2026-01-10,2029-01-10,FA-{n}\n" for n, email in enumerate(emails)
    )
    runner = _runner_of(graphql)
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_after_first_batch(_: JobReport) -> None:
        if not held.is_set():
            held.set()
            await release.wait()

    runner.batch_hook = hold_after_first_batch
    # When it is imported and the job is read while the import is held
    response = await upload(graphql, world.token("admin"), content)
    job_id = response.json()["data"]["importCredentials"]["job"]["id"]
    await held.wait()
    during = await graphql.execute(JOB, {"id": job_id}, token=world.token("admin"))
    release.set()
    await runner.finished()
    after = await graphql.execute(JOB, {"id": job_id}, token=world.token("admin"))
    # Then mid-run it is running with some rows read and created, not all
    job = during["data"]["importJob"]
    assert job["status"] == "RUNNING"
    assert 0 < job["rowsRead"] < ROWS
    assert 0 < job["createdCount"] <= job["rowsRead"]
    # And at the end it has them all
    assert after["data"]["importJob"] == {
        "status": "SUCCEEDED",
        "rowsRead": ROWS,
        "createdCount": ROWS,
    }
