"""RUNNING jobs whose process is gone are marked failed by the next import: a process on
this host is looked up, a runner elsewhere is judged by its heartbeat."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models.base import utcnow
from models.import_job import ErrorPolicy, ImportJob, ImportRowResult, ImportStatus
from models.tenancy import scoped_to
from server.database import Database
from server.settings import Settings
from services.csv_io.jobs import fail_abandoned_jobs
from services.csv_io.liveness import STALE_AFTER, this_process
from tests.events.live import live_app
from tests.world import World

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _ended_process() -> str:
    """The runner name of a process of this host that has ended."""
    script = "from services.csv_io.liveness import this_process; print(this_process())"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


async def test_jobs_of_gone_runners_fail_and_live_ones_keep_running(
    database: Database, world: World
) -> None:
    # Given running jobs: this process's, an ended process's on this host, and two of
    # another host, one heard from recently and one not for longer than STALE_AFTER
    runners = {
        "this process": (this_process(), NOW - timedelta(hours=2)),
        "ended process": (_ended_process(), NOW),
        "elsewhere, recent": ("elsewhere/boot/12/34", NOW - STALE_AFTER + timedelta(minutes=1)),
        "elsewhere, silent": ("elsewhere/boot/12/34", NOW - STALE_AFTER - timedelta(minutes=1)),
    }
    assert not runners["elsewhere, recent"][0].startswith(socket.gethostname() + "/")
    scope = scoped_to(world.north_id)
    async with database.transaction(scope) as session:
        for name, (runner, heartbeat) in runners.items():
            session.add(
                ImportJob(
                    organization_id=world.north_id,
                    file_name=name,
                    dry_run=False,
                    approve_all=False,
                    error_policy=ErrorPolicy.SKIP_FAILED_ROWS,
                    status=ImportStatus.RUNNING,
                    rows_read=40,
                    created_at=NOW - timedelta(hours=3),
                    runner=runner,
                    heartbeat_at=heartbeat,
                )
            )
    # When the next import looks for abandoned jobs
    async with database.transaction(scope) as session:
        marked = await fail_abandoned_jobs(session, NOW)
    # Then the ended process's and the silent one's failed, interrupted after their last row
    async with database.read(scope) as session:
        jobs = {job.file_name: job for job in await session.scalars(select(ImportJob))}
        results = list(await session.scalars(select(ImportRowResult)))
    assert {name: job.status for name, job in jobs.items()} == {
        "this process": ImportStatus.RUNNING,
        "ended process": ImportStatus.FAILED,
        "elsewhere, recent": ImportStatus.RUNNING,
        "elsewhere, silent": ImportStatus.FAILED,
    }
    assert sorted(marked) == sorted(
        jobs[name].id for name in ("ended process", "elsewhere, silent")
    )
    assert sorted((r.job_id, r.row_number, r.code) for r in results) == sorted(
        (jobs[name].id, 41, "INTERRUPTED") for name in ("ended process", "elsewhere, silent")
    )
    assert jobs["ended process"].finished_at == NOW


async def test_a_starting_server_fails_the_jobs_of_gone_runners(
    database: Database, world: World, settings: Settings
) -> None:
    # Given a running job of a process that has ended, and one of this process
    async with database.transaction(scoped_to(world.north_id)) as session:
        for name, runner in (("ended", _ended_process()), ("alive", this_process())):
            session.add(
                ImportJob(
                    organization_id=world.north_id,
                    file_name=name,
                    dry_run=False,
                    approve_all=False,
                    error_policy=ErrorPolicy.REJECT_EVERYTHING,
                    status=ImportStatus.RUNNING,
                    created_at=NOW,
                    runner=runner,
                    heartbeat_at=NOW,
                )
            )
    # When a server starts on the database
    async with live_app(replace(settings, expiry_scheduler=False), utcnow):
        pass
    # Then the ended process's job failed at start-up, with no import needed
    async with database.read(scoped_to(world.north_id)) as session:
        jobs = {job.file_name: job.status for job in await session.scalars(select(ImportJob))}
    assert jobs == {"ended": ImportStatus.FAILED, "alive": ImportStatus.RUNNING}
