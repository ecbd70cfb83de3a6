"""The import-csv and export-csv commands as an operator runs them, in real processes:
a REJECT_EVERYTHING import killed in the middle leaves nothing behind, and the next
import marks its job failed."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from models.credential import Credential, CredentialVersion
from models.event import CredentialEvent
from models.import_job import ImportJob, ImportRowResult, ImportStatus
from models.tenancy import unscoped
from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.factories import create_type
from tests.csv_io.helpers import HEADER, add_workers
from tests.server.process import ROOT, service_env
from tests.world import World

CLI_TIMEOUT_S = 120
WORKERS = 60_000


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "server", *args]


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        cwd=ROOT,
        env=service_env({"DATABASE_URL": database_url}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def _kill_after_first_batch(command: list[str], database_url: str) -> int:
    """Runs import-csv until its progress bar shows a batch written (not committed:
    REJECT_EVERYTHING commits once, at the end), then SIGKILLs it; its exit code."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=service_env({"DATABASE_URL": database_url}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = ""
    try:
        while " rows:" not in seen:
            char = process.stderr.read(1)
            assert char, f"import-csv ended before its first batch: {seen}"
            seen += char
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=CLI_TIMEOUT_S)
        process.stderr.close()
    return process.returncode


async def _count(database: Database, model: type[object]) -> int:
    async with database.read(unscoped()) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_killed_all_or_nothing_import_leaves_nothing_and_its_job_fails(
    graphql: GraphQLClient, world: World, database: Database, database_url: str, tmp_path: Path
) -> None:
    # Given a file of 60,000 rows, each a worker of the organization
    await create_type(graphql, world.token("admin"), name="First Aid")
    emails = await add_workers(database, world.north_id, WORKERS)
    register = tmp_path / "register.csv"
    with register.open("w", newline="") as out:
        out.write(HEADER)
        for n, email in enumerate(emails):
            out.write(f"{email},First Aid,2026-01-10,2029-01-10,FA-{n}\n")
    # When import-csv writes it under REJECT_EVERYTHING and is killed after its first batch
    admin = str(world.user_ids["admin"])
    command = _command("import-csv", str(register), "--user", admin, "--no-dry-run")
    returncode = _kill_after_first_batch(command, database_url)
    assert returncode == -signal.SIGKILL
    assert await _count(database, Credential) == 0
    assert await _count(database, CredentialVersion) == 0
    assert await _count(database, CredentialEvent) == 0
    async with database.read(unscoped()) as session:
        statuses = list(await session.scalars(select(ImportJob.status)))
    assert statuses == [ImportStatus.RUNNING]
    # And the next import finds its process gone and marks the job failed, interrupted
    small = tmp_path / "small.csv"
    small.write_text(HEADER + f"{emails[0]},First Aid,2026-01-10,2029-01-10,FA-0\n")
    again = _run(database_url, "import-csv", str(small), "--user", admin, "--quiet")
    assert again.returncode == 0, again.stderr
    async with database.read(unscoped()) as session:
        jobs = list(await session.scalars(select(ImportJob).order_by(ImportJob.id)))
        results = list(await session.scalars(select(ImportRowResult)))
    assert [job.status for job in jobs] == [ImportStatus.FAILED, ImportStatus.SUCCEEDED]
    assert jobs[0].finished_at is not None
    assert [(r.job_id, r.code) for r in results] == [(jobs[0].id, "INTERRUPTED")]
    assert results[0].message == (
        "The import stopped before the end of the file: nothing was imported; import the "
        "file again."
    )


async def test_import_then_export_on_the_command_line(
    graphql: GraphQLClient, world: World, database: Database, database_url: str, tmp_path: Path
) -> None:
    # Given a file of two rows
    await create_type(graphql, world.token("admin"), name="First Aid")
    register = tmp_path / "register.csv"
    register.write_text(
        HEADER
        + "acme_worker@example.com,First Aid,2026-01-10,2029-01-10,FA-1\n"
        + "bolt_worker@example.com,First Aid,2026-02-01,2029-02-01,FA-2\n"
    )
    admin = str(world.user_ids["admin"])
    # When an operator imports it, then exports
    imported = _run(database_url, "import-csv", str(register), "--user", admin, "--no-dry-run")
    exported = _run(database_url, "export-csv", "--user", admin)
    # Then the import printed its report and a progress bar, and the export holds both
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert (report["status"], report["created"]) == ("SUCCEEDED", 2)
    assert "100.0%" in imported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert sorted(row[4] for row in rows[1:]) == ["FA-1", "FA-2"]
    # And a dry run of the same file would change nothing
    again = _run(database_url, "import-csv", str(register), "--user", admin, "--quiet")
    assert json.loads(again.stdout)["unchanged"] == 2
