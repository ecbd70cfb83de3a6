"""Webhook workers killed and racing: a worker process killed (SIGKILL) mid-delivery
loses nothing and repeats only the request under way, with the same webhook-id; three
instances (separate engines; FOR UPDATE SKIP LOCKED on PostgreSQL) deliver every event
to every endpoint exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from models.base import utcnow
from models.delivery import DeliveryChannel, DeliveryStatus
from server.database import Database
from server.delivery_worker import DeliveryWorker, webhook_options
from tests.delivery.scene import Scene
from tests.delivery.webhook_receiver import Receiver, webhook_receiver
from tests.delivery.webhook_scene import create_endpoint, deliver, private_ok
from tests.server.process import ROOT, service_env

CREDENTIALS = 4  # two events each (submitted, approved)
HELD = 3


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as server:
        yield server


async def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_one_request(
    scene: Scene, receiver: Receiver
) -> None:
    # Given eight events for an endpoint, and a worker process that is posting the third
    # when it is killed
    scene.clock.now = utcnow() - timedelta(minutes=1)
    await create_endpoint(scene, receiver.url())
    for n in range(CREDENTIALS):
        await scene.approved(type_name=f"Licence {n}")
    receiver.hold_at = HELD
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "deliver-notifications",
        cwd=ROOT,
        env=service_env(
            {
                "DATABASE_URL": scene.settings.database_url,
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "on",
                "LOAD_DEMO_DATA": "off",
            }
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        held = await asyncio.to_thread(receiver.holding.wait, 60)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        output, _ = await worker.communicate()
    assert held, f"the worker never reached the third request:\n{output.decode()}"
    assert worker.returncode == -signal.SIGKILL, output.decode()
    receiver.release()
    held_id = receiver.received[HELD - 1].webhook_id

    # When another worker passes once the dead one's lease has passed
    scene.clock.now = utcnow() + webhook_options(scene.settings).lease + timedelta(seconds=1)
    await deliver(scene)

    # Then every event arrived; only the one being posted at the kill twice, same id
    rows = [d for d in await scene.deliveries() if d.channel is DeliveryChannel.WEBHOOK]
    assert len(rows) == 2 * CREDENTIALS
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    copies = Counter(r.webhook_id for r in receiver.received)
    assert len(copies) == 2 * CREDENTIALS
    assert {i: n for i, n in copies.items() if n > 1} == {held_id: 2}


INSTANCES = 3
ENDPOINTS = 3
APPROVALS = 8


async def test_three_instances_deliver_every_event_to_every_endpoint_once(
    scene: Scene, receiver: Receiver
) -> None:
    # Given three endpoints (three paths on the receiver) and sixteen events
    scene.clock.now = utcnow()
    for n in range(ENDPOINTS):
        created = await create_endpoint(scene, receiver.url(f"/hook/{n}"))
        receiver.secrets.append(created.secret)
    for n in range(APPROVALS):
        await scene.approved(type_name=f"Licence {n}")
    # And three instances, each on an engine of its own, claiming a few rows at a time
    settings = private_ok(scene)
    options = replace(webhook_options(settings), batch_size=2)
    databases = [Database(settings.database_url) for _ in range(INSTANCES)]
    try:
        workers = [DeliveryWorker(db, settings, scene.clock, webhook=options) for db in databases]

        # When they pass at the same time
        await asyncio.gather(*(w.run_pass() for w in workers))
    finally:
        for database in databases:
            await database.dispose()

    # Then each endpoint got each event exactly once, every one verified
    per_endpoint = Counter((r.headers["x-path"], r.webhook_id) for r in receiver.received)
    assert len(per_endpoint) == ENDPOINTS * APPROVALS * 2
    assert set(per_endpoint.values()) == {1}
    assert all(r.verified_with for r in receiver.received)
    # And in event order per credential at each endpoint
    for n in range(ENDPOINTS):
        kinds_by_credential: dict[str, list[str]] = {}
        for r in receiver.received:
            if r.headers["x-path"] == f"/hook/{n}":
                data = r.payload["data"]
                kinds_by_credential.setdefault(data["credentialId"], []).append(data["kind"])
        assert set(map(tuple, kinds_by_credential.values())) == {("SUBMITTED", "APPROVED")}
