"""Webhooks from commit to receipt: N events committed to the event log (batches of 100
through services/credentials/journal.py write_events_in_bulk, the commit time of each
recorded) while the delivery worker runs, to E active endpoints subscribed to them, on
SQLite, until every delivery is SENT; the receivers are real uvicorn servers in a process
of their own (bench/webhook_sink.py), pinned to the other core.

The baseline, in the same run and against the same receivers, is the fastest correct raw
way to POST the same bodies with the same headers: one httpx.AsyncClient with keep-alive
and one sequential loop per endpoint (the order our lanes keep), all endpoints at once.

Run from the project root:
PYTHONPATH=. .venv/bin/python bench/webhook_delivery.py [EVENTS [ENDPOINTS]] (default: 10000 10).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import select

from bench.expiry_sweep import NOW, prepare_register
from models import Credential, CredentialEvent, CredentialVersion, Permission
from models.base import utcnow
from models.delivery import Delivery, DeliveryStatus
from models.event import CredentialEventKind
from models.tenancy import scoped_to, unscoped
from models.webhook import WebhookAttempt
from server.database import Database
from server.delivery_worker import DeliveryWorker
from server.settings import Settings
from server.webhooks import secret_box, target_policy
from services.credentials.journal import write_events_in_bulk
from services.delivery.webhook import endpoints
from services.delivery.webhook.targets import system_resolver
from services.viewer import Viewer
from tests.server.process import free_port

SINK_CPU, SENDER_CPU = 1, 0
BATCH = 100


@contextmanager
def _receivers(count: int) -> Iterator[list[int]]:
    ports = [free_port() for _ in range(count)]
    process = subprocess.Popen(
        ["taskset", "-c", str(SINK_CPU), sys.executable, "bench/webhook_sink.py", *map(str, ports)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": "."},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    try:
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=60)


def _receipts(ports: list[int]) -> dict[str, list[float]]:
    """webhook-id -> receipt times, over every receiver (one list in the receivers' process)."""
    found: dict[str, list[float]] = {}
    for webhook_id, at in httpx.get(f"http://127.0.0.1:{ports[0]}/receipts").json():
        found.setdefault(webhook_id, []).append(at)
    return found


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _ours(path: Path, ports: list[int], events: int) -> tuple[float, dict[int, float]]:
    """Seconds from the first commit until every delivery is SENT, and each event's
    commit time (time.time())."""
    settings = replace(
        Settings(), database_url=f"sqlite:///{path}", webhook_allow_private_targets=True
    )
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.read(unscoped()) as session:
            rows = list(
                await session.execute(
                    select(Credential.id, Credential.organization_id, Credential.holder_id,
                           Credential.type_id, CredentialVersion.id)
                    .join(CredentialVersion, CredentialVersion.credential_id == Credential.id)
                    .order_by(Credential.id)
                    .limit(events)
                )
            )  # fmt: skip
        organization_id = rows[0][1]
        viewer = Viewer(
            1, organization_id, 0, frozenset(Permission), None, frozenset(), frozenset()
        )
        tools = endpoints.WebhookTools(
            target_policy(settings), system_resolver, secret_box(settings)
        )
        async with database.transaction(scoped_to(organization_id)) as session:
            for port in ports:
                changes = endpoints.EndpointChanges(
                    url=f"http://127.0.0.1:{port}/hook",
                    event_kinds=[CredentialEventKind.ARCHIVED],
                )
                await endpoints.create_endpoint(session, viewer, changes, tools, NOW)
        worker = DeliveryWorker(database, settings, utcnow)
        committed: dict[int, float] = {}
        started = time.perf_counter()
        worker.start()
        for first in range(0, len(rows), BATCH):
            batch = [
                CredentialEvent(
                    organization_id=org, kind=CredentialEventKind.ARCHIVED, credential_id=cid,
                    version_id=vid, holder_id=holder, type_id=tid, actor_id=None,
                    occurred_at=utcnow(), data={},
                )
                for cid, org, holder, tid, vid in rows[first : first + BATCH]
            ]  # fmt: skip
            async with database.transaction(scoped_to(organization_id)) as session:
                await write_events_in_bulk(session, batch, utcnow())
            at = time.time()
            async with database.read(unscoped()) as session:
                ids = await session.scalars(
                    select(CredentialEvent.id).order_by(CredentialEvent.id.desc()).limit(BATCH)
                )
                committed.update((i, at) for i in ids)
        expected = len(rows) * len(ports)
        while await _sent(database) < expected:  # noqa: ASYNC110 - polling the table is the check
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        await worker.stop()
        async with database.read(unscoped()) as session:
            assert await session.scalar(select(WebhookAttempt.id).limit(1)) is not None
        return seconds, committed
    finally:
        await database.dispose()


async def _sent(database: Database) -> int:
    async with database.read(unscoped()) as session:
        statuses = list(await session.scalars(select(Delivery.status)))
    return sum(s is DeliveryStatus.SENT for s in statuses)


async def _bodies(path: Path) -> dict[int, list[tuple[bytes, dict[str, str]]]]:
    """What we sent, per endpoint in delivery order: the logged body and headers."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.read(unscoped()) as session:
            rows = await session.execute(
                select(
                    Delivery.webhook_endpoint_id,
                    WebhookAttempt.request_body,
                    WebhookAttempt.request_headers,
                )
                .join(WebhookAttempt, WebhookAttempt.delivery_id == Delivery.id)
                .order_by(Delivery.id)
            )  # fmt: skip
            sent: dict[int, list[tuple[bytes, dict[str, str]]]] = {}
            for endpoint_id, body, headers in rows:
                sent.setdefault(int(endpoint_id or 0), []).append((body.encode(), dict(headers)))
        return sent
    finally:
        await database.dispose()


async def _raw(sent: dict[str, list[tuple[bytes, dict[str, str]]]]) -> float:
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=100)) as client:

        async def lane(url: str, posts: list[tuple[bytes, dict[str, str]]]) -> None:
            for body, headers in posts:
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 204

        started = time.perf_counter()
        await asyncio.gather(*(lane(url, posts) for url, posts in sent.items()))
        return time.perf_counter() - started


def main(events: int, endpoint_count: int) -> None:
    os.sched_setaffinity(0, {SENDER_CPU})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        asyncio.run(prepare_register(path, events, due=1))
        with _receivers(endpoint_count) as ports:
            seconds, committed = asyncio.run(_ours(path, ports, events))
            received = _receipts(ports)
        with _receivers(endpoint_count) as ports:
            logged = asyncio.run(_bodies(path))
            sent = {
                f"http://127.0.0.1:{new}/hook": logged[old]
                for old, new in zip(sorted(logged), ports, strict=True)
            }
            raw_seconds = asyncio.run(_raw(sent))
            raw_received = sum(len(v) for v in _receipts(ports).values())
    deliveries = events * endpoint_count
    got = sum(len(v) for v in received.values())
    assert got == deliveries, (got, deliveries)  # each once, none repeated
    assert raw_received == deliveries
    latencies = [
        at - committed[int(json.loads(_cursor_key(webhook_id))[1])]
        for webhook_id, times in received.items()
        for at in times
    ]
    ours_rate, raw_rate = deliveries / seconds, deliveries / raw_seconds
    print()
    print(
        "| deliveries | ours (commit → all SENT) | p99 commit → receipt | raw httpx | ours / raw |"
    )
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {events:,} events x {endpoint_count} | {ours_rate:,.0f}/s | "
        f"{_p99(latencies):.2f} s | {raw_rate:,.0f}/s | {ours_rate / raw_rate:.2f}x |"
    )


def _cursor_key(webhook_id: str) -> str:
    return base64.urlsafe_b64decode(webhook_id.removeprefix("evt_")).decode()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 10_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 10,
    )
