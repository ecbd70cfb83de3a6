"""The import-csv and export-csv commands as an operator runs them, in real processes:
a REJECT_EVERYTHING import killed in the middle leaves nothing behind, and the next
import marks its job failed."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.credential import Credential, CredentialVersion
from models.event import CredentialEvent
from models.import_job import ImportJob, ImportRowResult, ImportStatus
from models.tenancy import unscoped
from server.cli_errors import ExitCode
from server.csv_cli import progress_bar
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
    """Runs import-csv with its stderr on a terminal until its progress bar shows a batch
    written (not committed: REJECT_EVERYTHING commits once, at the end), then SIGKILLs it;
    its exit code."""
    terminal, stderr = pty.openpty()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=service_env({"DATABASE_URL": database_url}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    os.close(stderr)
    seen = b""
    try:
        while b" rows:" not in seen:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the process closed its end
                chunk = b""
            assert chunk, f"import-csv ended before its first batch: {seen!r}"
            seen += chunk
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=CLI_TIMEOUT_S)
        os.close(terminal)
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
    # Then the import printed its report (and no progress bar: its stderr is no terminal),
    # and the export holds both
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert (report["status"], report["created"]) == ("SUCCEEDED", 2)
    assert imported.stderr == ""
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert sorted(row[4] for row in rows[1:]) == ["FA-1", "FA-2"]
    # And a dry run of the same file would change nothing
    again = _run(database_url, "import-csv", str(register), "--user", admin, "--quiet")
    assert json.loads(again.stdout)["unchanged"] == 2


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NOT_CSV"),
        (
            HEADER.encode() + "x@example.com,Premi\u00e8re,2026-01-10,,\n".encode("latin-1"),
            "NOT_UTF8",
        ),
        (b"Holder email,Credential type\nx@example.com,First Aid\n", "MISSING_COLUMN"),
        (HEADER.encode() + b"nobody@example.com,First Aid,2026-01-10,2029-01-10,FA-1\n", None),
    ],
    ids=["not-csv", "not-utf8", "missing-column", "a-bad-row"],
)
async def test_a_failed_import_exits_non_zero_with_its_report(
    graphql: GraphQLClient,
    world: World,
    database: Database,
    database_url: str,
    tmp_path: Path,
    content: bytes,
    code: str | None,
) -> None:
    # Given a file the import refuses (a bad row: nothing is imported under REJECT_EVERYTHING)
    await create_type(graphql, world.token("admin"), name="First Aid")
    register = tmp_path / "register.csv"
    register.write_bytes(content)

    # When an operator imports it
    admin = str(world.user_ids["admin"])
    result = _run(database_url, "import-csv", str(register), "--user", admin, "--no-dry-run")

    # Then the command fails: the report on stdout, one line on stderr, nothing imported
    assert result.returncode == ExitCode.FAILED, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "FAILED"
    [line] = result.stderr.splitlines()
    assert line.startswith("error: the import failed (")
    if code is not None:
        assert code in [problem["code"] for problem in report["problems"]]
        assert code in line
    assert await _count(database, Credential) == 0


def test_progress_bar_only_on_a_terminal() -> None:
    # Given stderr that is a terminal, and one that is not
    terminal, other_end = pty.openpty()
    try:
        with os.fdopen(os.dup(other_end), "w") as on_terminal, io.StringIO() as piped:
            # When the import asks for a progress bar
            # Then there is one on the terminal only, and none when asked to be quiet
            assert progress_bar(on_terminal, quiet=False) is not None
            assert progress_bar(on_terminal, quiet=True) is None
            assert progress_bar(piped, quiet=False) is None
    finally:
        os.close(terminal)
        os.close(other_end)
