"""A large import on PostgreSQL never holds its organization's event-ordering lock: writers
of the same organization and of another go on while it runs (held between two batches),
and the event log still becomes visible in id order. Events a stopped process left staged
are published at start-up. Real PostgreSQL (TEST_POSTGRES_URL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from models.event import CredentialEvent
from models.event_queue import StagedCredentialEvent
from models.tenancy import scoped_to, unscoped
from server.database import Database
from server.imports import ImportRunner
from services.csv_io.jobs import JobReport
from tests.conftest import GraphQLClient
from tests.credentials.factories import create_credential, create_type, local_key
from tests.csv_io.helpers import HEADER, add_workers, upload
from tests.world import World

ROWS = 3_000  # three batches, under 1 MB: imported while the request waits
WRITER_PATIENCE_S = 15  # far beyond a batch; the import is held until writers are done


@pytest.fixture(autouse=True)
def _postgres_only(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("SQLite serializes every writer: there is no per-organization lock")


def _runner_of(client: GraphQLClient) -> ImportRunner:
    transport = client.http._transport
    assert isinstance(transport, httpx.ASGITransport)
    runner: ImportRunner = transport.app.state.imports  # type: ignore[attr-defined]
    return runner


async def _north_events(database: Database, world: World) -> list[tuple[int, str, int]]:
    async with database.read(scoped_to(world.north_id)) as session:
        rows = await session.execute(
            select(
                CredentialEvent.id, CredentialEvent.kind, CredentialEvent.credential_id
            ).order_by(CredentialEvent.id)
        )
    return [(row.id, row.kind, row.credential_id) for row in rows]


async def test_writers_of_any_organization_go_on_while_an_import_runs(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # Given a file of 3,000 rows for the north, and imports held after their first batch
    admin, south_admin = world.token("admin"), world.token("south_admin")
    await create_type(graphql, admin, name="First Aid")
    forklift = await create_type(graphql, admin, name="Forklift")
    south_type = await create_type(graphql, south_admin, name="Crane")
    emails = await add_workers(database, world.north_id, ROWS)
    content = HEADER + "".join(
        f"{email},First Aid,2026-01-10,2029-01-10,FA-{n}\n" for n, email in enumerate(emails)
    )
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_after_first_batch(_: JobReport) -> None:
        if not held.is_set():
            held.set()
            await release.wait()

    _runner_of(graphql).batch_hook = hold_after_first_batch
    importing = asyncio.create_task(upload(graphql, admin, content))
    await held.wait()
    # When writers of the north and of the south submit credentials while it is held
    writers = asyncio.gather(
        create_credential(graphql, admin, forklift, world.user_ids["employee"]),
        create_credential(graphql, south_admin, south_type, world.user_ids["south_worker"]),
    )
    done, _ = await asyncio.wait([writers], timeout=WRITER_PATIENCE_S)
    release.set()  # whatever happened: never leave the import held
    response = await importing
    # Then both were answered while the import was still running
    assert done, "a writer waited for the import"
    north_credential, _south_credential = writers.result()
    # And the import completed, with one SUBMITTED event per row, none left staged
    job = response.json()["data"]["importCredentials"]["job"]
    assert (job["status"], job["createdCount"]) == ("SUCCEEDED", ROWS)
    events = await _north_events(database, world)
    assert [kind for _, kind, _ in events].count("SUBMITTED") == ROWS + 1
    async with database.read(unscoped()) as session:
        assert await session.scalar(select(func.count()).select_from(StagedCredentialEvent)) == 0
    # And the writer's event, committed first, has the lowest id: no reader that read it
    # and resumes after its id can miss the import's events
    assert events[0][2] == local_key(north_credential["id"])


async def test_events_a_stopped_process_left_staged_are_published_at_start_up(
    world: World, database: Database
) -> None:
    # Given events an import committed and staged, and a process stopped before
    # publishing them
    now = datetime.now(UTC)
    staged: list[dict[str, Any]] = [
        {
            "organization_id": world.north_id,
            "kind": kind,
            "credential_id": credential_id,
            "version_id": credential_id,
            "holder_id": world.user_ids["employee"],
            "type_id": 1,
            "actor_id": world.user_ids["admin"],
            "occurred_at": now,
            "data": {},
        }
        for credential_id, kind in [(7, "SUBMITTED"), (7, "APPROVED"), (8, "SUBMITTED")]
    ]
    async with database.transaction(unscoped()) as session:
        await session.execute(insert(StagedCredentialEvent), staged)
    # When a server starts
    await ImportRunner(database, lambda: now).fail_abandoned()
    # Then they are in the log, in the order they were staged, and the queue is empty
    events = await _north_events(database, world)
    assert [(kind, credential) for _, kind, credential in events] == [
        ("SUBMITTED", 7),
        ("APPROVED", 7),
        ("SUBMITTED", 8),
    ]
    async with database.read(unscoped()) as session:
        assert await session.scalar(select(func.count()).select_from(StagedCredentialEvent)) == 0
