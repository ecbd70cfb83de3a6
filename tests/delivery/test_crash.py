"""A worker killed (SIGKILL) mid-batch loses nothing and repeats at most the one message
it was sending, under the same Message-ID; and workers racing over one outbox (separate
engines, as separate instances have) send each message exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from models.base import utcnow
from models.delivery import DeliveryChannel, DeliveryKind, DeliveryStatus
from models.tenancy import unscoped
from server.database import Database
from server.delivery_worker import DeliveryWorker, delivery_options
from services.delivery import queue_delivery
from services.delivery.worker import Outcome
from tests.delivery.mail_server import MailServer
from tests.delivery.scene import PUBLIC_URL, Scene
from tests.server.process import ROOT, service_env

MESSAGES = 5
HELD = 3  # the SMTP server never answers the third message: the worker is mid-send


async def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_one(
    scene: Scene, smtp: MailServer
) -> None:
    # Given five approvals' emails, queued a moment ago by the real clock
    scene.clock.now = utcnow() - timedelta(minutes=1)
    for n in range(MESSAGES):
        await scene.approved(type_name=f"Licence {n}")
    # And a worker process that is sending the third when it is killed
    smtp.handler.hold_at = HELD
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "deliver-notifications",
        cwd=ROOT,
        env=service_env(
            {
                "DATABASE_URL": scene.settings.database_url,
                "SMTP_URL": smtp.url(),
                "PUBLIC_URL": PUBLIC_URL,
                "LOAD_DEMO_DATA": "off",
            }
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        held = await asyncio.to_thread(smtp.handler.holding.wait, 60)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        output, _ = await worker.communicate()
    assert held, f"the worker never reached the third message:\n{output.decode()}"
    assert worker.returncode == -signal.SIGKILL, output.decode()
    smtp.handler.release()
    rows = await scene.deliveries()
    assert [r.status for r in rows].count(DeliveryStatus.SENT) == HELD - 1

    # When another worker passes once the dead one's lease has passed
    lease = delivery_options(scene.settings).lease
    scene.clock.now = utcnow() + lease + timedelta(seconds=1)
    await scene.deliver(smtp.url())

    # Then every message arrived, only the one being sent at the kill twice, both copies
    # with the same Message-ID
    rows = await scene.deliveries()
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    copies = smtp.handler.by_message_id()
    assert set(copies) == {r.message_id for r in rows}
    assert sorted(len(c) for c in copies.values()) == [1] * (MESSAGES - 1) + [2]
    [repeated] = [c for c in copies.values() if len(c) == 2]
    assert repeated[0].message["Subject"] == repeated[1].message["Subject"]
    assert repeated[0].message["Subject"] == f"Your Licence {HELD - 1} was approved"


WORKERS = 3
QUEUED = 30


async def test_workers_racing_over_one_outbox_send_each_message_once(
    scene: Scene, smtp: MailServer
) -> None:
    # Given thirty deliveries in the outbox
    async with scene.database.transaction(unscoped()) as session:
        for n in range(QUEUED):
            queued = await queue_delivery(
                session,
                organization_id=scene.world.north_id,
                channel=DeliveryChannel.EMAIL,
                kind=DeliveryKind.APPROVED,
                recipient_user_id=scene.world.user_ids["employee"],
                dedupe_key=f"race:{n}",
                now=scene.clock.now,
                payload={"subject": f"Message {n}", "text": f"{n}\n", "html": f"<p>{n}</p>"},
            )
            assert queued
    # And three workers on engines of their own, claiming a few rows at a time
    settings = replace(scene.settings, smtp_url=smtp.url(), public_url=PUBLIC_URL)
    options = replace(delivery_options(settings), batch_size=3)
    databases = [Database(settings.database_url) for _ in range(WORKERS)]
    try:
        workers = [DeliveryWorker(db, settings, scene.clock, options=options) for db in databases]

        # When they pass at the same time
        results = await asyncio.gather(*(w.run_pass() for w in workers))
    finally:
        for database in databases:
            await database.dispose()

    # Then each message went out exactly once
    subjects = Counter(str(m.message["Subject"]) for m in smtp.handler.received)
    assert subjects == Counter(f"Message {n}" for n in range(QUEUED))
    assert {r.status for r in await scene.deliveries()} == {DeliveryStatus.SENT}
    sent_by = [r.count(Outcome.SENT) for r in results]
    assert sum(sent_by) == QUEUED
