"""CSV import and export of credentials on SQLite, next to a raw baseline of the same run.

- import: `import-csv`'s engine (services/csv_io) writing a file of N rows under
  REJECT_EVERYTHING (one transaction, with each credential's SUBMITTED event);
  raw baseline: stdlib csv + sqlite3 executemany of the same credentials and versions in one
  transaction (ids assigned in Python: no checks, no events), measured twice: into the same
  schema, and with the credential summary's triggers dropped (the fastest raw write).
- export: the export stream of every credential to a file; raw baseline: the same joined
  SELECT through sqlite3 to csv.writer.
Each measurement runs in a fresh process, its modules loaded before the clock starts (as
in a running server; the import's clock starts at the job's start, the engine connected
and the importing user loaded, and stops at its saved report); peak memory is that
process's own high-water mark of resident memory (VmHWM), the interpreter and libraries
included.

Run from the project root: PYTHONPATH=. .venv/bin/python bench/csv_io.py [--import-only]
[ROWS ...] (default: 20000 1000000). With BENCH_POSTGRES_URL=postgresql://user@host/db (a
server where a database may be created), the import and export are measured on PostgreSQL
too. The import there is compared with a raw PostgreSQL baseline: stdlib csv + asyncpg
copy_records_to_table of the same credentials and versions in one transaction, ids taken
from the sequences up front (no checks, no events), with and without the credential
summary's triggers; the export with the raw SQLite one.
"""

# ruff: noqa: ASYNC240 - a benchmark process owns its files and its event loop
from __future__ import annotations

import asyncio
import csv
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import insert, text

from models.credential_filter import CredentialFilter
from models.credential_type import CredentialType, FieldRule
from models.tenancy import scoped_to, unscoped
from models.user import User
from server.database import Database
from server.migrations import upgrade_to_head
from services import identity
from services.csv_io.engine import ImportOptions, run_import
from services.csv_io.export import export_csv
from services.csv_io.jobs import start_job
from services.visibility import search_scope

TYPES = 20
HEADER = "Holder email,Credential type,Issue date,Expiry date,Credential number\n"


async def _prepare(url: str, rows: int) -> int:
    """A migrated database with an admin, the users and types the file needs; the
    admin's id."""
    database = Database(url)
    await upgrade_to_head(database)
    now = datetime.now(UTC)
    users = -(-rows // TYPES)
    async with database.transaction(unscoped()) as session:
        organization = await identity.create_organization(session, "Bench")
        admin_set = await identity.create_permission_set(
            session,
            organization.id,
            "Admin",
            ["USERS_MANAGE", "CREDENTIALS_MANAGE", "COMPANIES_MANAGE"],
        )
        admin = await identity.create_user(
            session, organization.id, "Admin", "admin@example.com", permission_set_id=admin_set.id
        )
        for n in range(TYPES):
            session.add(
                CredentialType(
                    organization_id=organization.id,
                    name=f"Type {n}",
                    issue_date_rule=FieldRule.OPTIONAL,
                    expiry_date_rule=FieldRule.OPTIONAL,
                    media_rule=FieldRule.OPTIONAL,
                )
            )
        connection = await session.connection()
        await connection.execute(
            insert(User.__table__),  # type: ignore[arg-type]
            [
                {
                    "organization_id": organization.id,
                    "name": f"Worker {n}",
                    "name_key": f"worker {n}",
                    "email": f"worker{n}@example.com",
                    "email_key": f"worker{n}@example.com",
                    "is_active": True,
                    "created_at": now,
                }
                for n in range(users)
            ],
        )
        admin_id = admin.id
    await database.dispose()
    return admin_id


def _write_file(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            user, type_ = divmod(n, TYPES)
            out.write(
                f"worker{user}@example.com,Type {type_},2026-01-{1 + n % 28:02d},"
                f"2029-01-{1 + n % 28:02d},N-{n}\n"
            )


# -- measurements, each in a process of its own ---------------------------------------


async def _import(url: str, file: Path, admin_id: int) -> float:
    """Seconds from starting the job to its saved report, as the mutation or the CLI runs
    it: the engine connected and the viewer known beforehand, as in a running server."""
    database = Database(url)
    options = ImportOptions(dry_run=False)
    async with database.read(unscoped()) as session:
        viewer = await identity.viewer_of_user(session, admin_id)
    with file.open("rb") as stream:
        started = time.perf_counter()
        job = await start_job(
            database, viewer, file.name, options, file.stat().st_size, datetime.now(UTC)
        )
        report = await run_import(database, viewer, job, stream, options, lambda: datetime.now(UTC))
        seconds = time.perf_counter() - started
    assert report.failed_count == 0, report.problems[:3]
    await database.dispose()
    return seconds


def _raw_import(db: Path, file: Path) -> None:
    now = datetime.now(UTC).isoformat(sep=" ")
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    users = dict(connection.execute("SELECT email_key, id FROM users"))
    types = dict(connection.execute("SELECT name_key, id FROM credential_types"))
    (org,) = connection.execute("SELECT id FROM organizations").fetchone()
    next_id = (connection.execute("SELECT max(id) FROM credentials").fetchone()[0] or 0) + 1
    connection.execute("BEGIN IMMEDIATE")
    with file.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        next(reader)
        while batch := [row for _, row in zip(range(2000), reader, strict=False)]:
            credentials, versions = [], []
            for email, type_name, issue, expiry, number in batch:
                holder, type_id = users[email.casefold()], types[type_name.casefold()]
                credentials.append((next_id, org, type_id, holder, now, now))
                versions.append((org, next_id, issue, expiry, number, now, now))
                next_id += 1
            connection.executemany(
                "INSERT INTO credentials (id, organization_id, type_id, holder_id, "
                "latest_version_number, revision, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, 1, 1, ?, ?)",
                credentials,
            )
            connection.executemany(
                "INSERT INTO credential_versions (organization_id, credential_id, number, "
                "issue_date, expiry_date, credential_number, approval_status, created_at, "
                "updated_at) VALUES (?, ?, 1, ?, ?, ?, 'PENDING', ?, ?)",
                versions,
            )
    connection.execute("COMMIT")
    connection.close()


async def _raw_postgres_import(url: str, file: Path) -> None:
    now = datetime.now(UTC)
    connection = await asyncpg.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")))
    users = dict(await connection.fetch("SELECT email_key, id FROM users"))
    types = dict(await connection.fetch("SELECT name_key, id FROM credential_types"))
    org = await connection.fetchval("SELECT id FROM organizations")
    next_ids = (
        "SELECT nextval(pg_get_serial_sequence('credentials', 'id')) FROM generate_series(1, $1)"
    )
    async with connection.transaction():
        with file.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            next(reader)
            while batch := [row for _, row in zip(range(2000), reader, strict=False)]:
                ids = [record[0] for record in await connection.fetch(next_ids, len(batch))]
                credentials, versions = [], []
                for credential_id, (email, type_name, issue, expiry, number) in zip(
                    ids, batch, strict=True
                ):
                    holder, type_id = users[email.casefold()], types[type_name.casefold()]
                    credentials.append((credential_id, org, type_id, holder, 1, 1, now, now))
                    versions.append(
                        (
                            org,
                            credential_id,
                            1,
                            date.fromisoformat(issue),
                            date.fromisoformat(expiry),
                            number,
                            "PENDING",
                            now,
                            now,
                        )
                    )
                await connection.copy_records_to_table(
                    "credentials",
                    records=credentials,
                    columns=[
                        "id",
                        "organization_id",
                        "type_id",
                        "holder_id",
                        "latest_version_number",
                        "revision",
                        "created_at",
                        "updated_at",
                    ],
                )
                await connection.copy_records_to_table(
                    "credential_versions",
                    records=versions,
                    columns=[
                        "organization_id",
                        "credential_id",
                        "number",
                        "issue_date",
                        "expiry_date",
                        "credential_number",
                        "approval_status",
                        "created_at",
                        "updated_at",
                    ],
                )
    await connection.close()


async def _export(url: str, out: Path, admin_id: int) -> None:
    database = Database(url)
    async with database.read(unscoped()) as session:
        viewer = await identity.viewer_of_user(session, admin_id)
    with out.open("w", newline="", encoding="utf-8") as target:
        async with database.read(scoped_to(viewer.organization_id)) as session:
            async for chunk in export_csv(
                session, viewer, CredentialFilter(), search_scope(viewer), datetime.now(UTC).date()
            ):
                target.write(chunk)
    await database.dispose()


def _raw_export(db: Path, out: Path) -> None:
    connection = sqlite3.connect(db)
    cursor = connection.execute(
        "SELECT u.email, t.name, v.issue_date, v.expiry_date, v.credential_number, "
        "c.external_id, u.name, v.approval_status, c.archived_at FROM credentials c "
        "JOIN users u ON u.id = c.holder_id JOIN credential_types t ON t.id = c.type_id "
        "JOIN credential_versions v ON v.credential_id = c.id "
        "AND v.number = c.latest_version_number ORDER BY c.id"
    )
    with out.open("w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(HEADER.strip().split(","))
        while rows := cursor.fetchmany(5000):
            writer.writerows(rows)
    connection.close()


def _measure(kind: str, target: str, file: Path, admin_id: int) -> None:
    """`target`: a database URL for ours, a SQLite file for the raw baselines."""
    started = time.perf_counter()
    seconds: float | None = None
    if kind == "import":
        seconds = asyncio.run(_import(target, file, admin_id))
    elif kind == "raw-import":
        _raw_import(Path(target), file)
    elif kind == "raw-postgres-import":
        asyncio.run(_raw_postgres_import(target, file))
    elif kind == "export":
        asyncio.run(_export(target, file, admin_id))
    else:
        _raw_export(Path(target), file)
    if seconds is None:
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_mb()}))


def _peak_mb() -> float:
    """This process's peak resident set: VmHWM, its own memory's high-water mark. (Linux's
    getrusage maximum also counts the parent's resident set at the fork, which at
    1,000,000 rows hid every child's own figure.)"""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kilobytes) / 1024


def _in_process(kind: str, target: str, file: Path, admin_id: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", kind, target, str(file), str(admin_id)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def _line(what: str, rows: int, ours: dict[str, float], raw: dict[str, float]) -> str:
    ours_rate, raw_rate = rows / ours["seconds"], rows / raw["seconds"]
    return (
        f"| {what} | {rows:,} | {ours['seconds']:.2f} s | {ours_rate:,.0f} | "
        f"{ours['peak_mb']:.0f} MB | {raw_rate:,.0f} | {raw['peak_mb']:.0f} MB | "
        f"{ours_rate / raw_rate:.2f}x |"
    )


def _without_summary_triggers(url: str) -> None:
    """The credential summary's triggers (migration 0007) off: under the raw baseline's
    executemany (SQLite) or COPY (PostgreSQL) they cost a statement journal or an update
    per row, where the import writes summaries with its credentials. Without them, the
    baseline is as fast as these rows can be written at all."""

    async def run() -> None:
        database = Database(url)
        async with database.transaction(unscoped()) as session:
            if database.is_sqlite:
                triggers = await session.scalars(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                )
                for name in list(triggers):
                    await session.execute(text(f'DROP TRIGGER "{name}"'))
            else:
                await session.execute(text("ALTER TABLE credential_versions DISABLE TRIGGER USER"))
        await database.dispose()

    asyncio.run(run())


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@contextmanager
def _postgres_database(admin_url: str, role: str) -> Iterator[str]:
    """A database of its own on the server of `admin_url`, dropped afterwards."""
    parts = urlsplit(admin_url)
    plain = urlunsplit(parts._replace(scheme="postgresql"))
    name = f"bench_csv_{role}_{os.getpid()}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(plain)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(parts._replace(scheme="postgresql+asyncpg", path="/" + name))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main(sizes: list[int], export: bool) -> None:
    postgres = os.environ.get("BENCH_POSTGRES_URL")
    print(
        "| what | rows | time | rows/s | peak memory | raw rows/s | raw peak | ratio |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for rows in sizes:
        with tempfile.TemporaryDirectory() as directory:
            folder = Path(directory)
            template, file = folder / "template.db", folder / "register.csv"
            admin_id = asyncio.run(_prepare(_sqlite_url(template), rows))
            _write_file(file, rows)
            ours_db, raw_db = folder / "ours.db", folder / "raw.db"
            bare_db = folder / "raw-without-triggers.db"
            for copy in (ours_db, raw_db, bare_db):
                shutil.copyfile(template, copy)
            _without_summary_triggers(_sqlite_url(bare_db))
            ours = _in_process("import", _sqlite_url(ours_db), file, admin_id)
            raw_import = _in_process("raw-import", str(raw_db), file, admin_id)
            print(_line("import", rows, ours, raw_import), flush=True)
            bare_import = _in_process("raw-import", str(bare_db), file, admin_id)
            print(_line("import, raw without triggers", rows, ours, bare_import), flush=True)
            out = folder / "export.csv"
            if export:
                ours = _in_process("export", _sqlite_url(ours_db), out, admin_id)
                raw_export = _in_process("raw-export", str(ours_db), out, admin_id)
                print(_line("export", rows, ours, raw_export), flush=True)
            if postgres:
                with (
                    _postgres_database(postgres, "ours") as url,
                    _postgres_database(postgres, "raw") as raw_url,
                    _postgres_database(postgres, "bare") as bare_url,
                ):
                    admin_id = asyncio.run(_prepare(url, rows))
                    asyncio.run(_prepare(raw_url, rows))
                    asyncio.run(_prepare(bare_url, rows))
                    _without_summary_triggers(bare_url)
                    ours = _in_process("import", url, file, admin_id)
                    raw = _in_process("raw-postgres-import", raw_url, file, admin_id)
                    print(_line("import, PostgreSQL", rows, ours, raw), flush=True)
                    bare = _in_process("raw-postgres-import", bare_url, file, admin_id)
                    line = _line("import, PostgreSQL, raw without triggers", rows, ours, bare)
                    print(line, flush=True)
                    if export:
                        ours = _in_process("export", url, out, admin_id)
                        print(_line("export, PostgreSQL", rows, ours, raw_export), flush=True)


def _arguments(argv: list[str]) -> Any:
    if argv[:1] == ["--measure"]:
        kind, target, file, admin_id = argv[1:5]
        _measure(kind, target, Path(file), int(admin_id))
        return None
    export = "--import-only" not in argv
    sizes = [int(size) for size in argv if size != "--import-only"]
    main(sizes or [20_000, 1_000_000], export)
    return None


if __name__ == "__main__":
    _arguments(sys.argv[1:])
