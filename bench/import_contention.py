"""Other writers' latency while a large CSV import runs on PostgreSQL, next to the same
writers with no import, in the same run.

The import is `import-csv`'s engine under REJECT_EVERYTHING (one transaction for the
whole file) in a process of its own, as the CLI or a server's background task runs it.
The writers, in another process, are what every mutation does to the event log: a write
transaction of an organization that writes one credential event (the ORM flush takes the
organization's event-ordering lock) and commits. Half write in the importing
organization, half in another one. Before #16 the import held the ordering lock from its
first batch to its commit, so every writer of its organization waited for the import.

Run from the project root with a PostgreSQL where a database may be created:
BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \
    PYTHONPATH=. .venv/bin/python bench/import_contention.py [ROWS] (default 1000000)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.csv_io import _import, _postgres_database, _prepare, _write_file
from models.event import CredentialEvent, CredentialEventKind
from models.tenancy import scoped_to, unscoped
from server.database import Database
from services import identity

WRITERS_PER_ORGANIZATION = 4
BASELINE_SECONDS = 10.0


async def _writer(database: Database, organization_id: int, stop: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with database.transaction(scoped_to(organization_id)) as session:
            session.add(
                CredentialEvent(
                    organization_id=organization_id,
                    kind=CredentialEventKind.ARCHIVED,
                    credential_id=0,
                    holder_id=0,
                    type_id=0,
                )
            )
        latencies.append(time.perf_counter() - started)
    return latencies


async def _write_until(
    url: str, organizations: dict[str, int], done: asyncio.Future[None]
) -> dict[str, list[float]]:
    database = Database(url)
    stop = asyncio.Event()
    tasks = {
        name: [
            asyncio.create_task(_writer(database, org, stop))
            for _ in range(WRITERS_PER_ORGANIZATION)
        ]
        for name, org in organizations.items()
    }
    await done
    stop.set()
    results = {
        name: [latency for task in group for latency in await task] for name, group in tasks.items()
    }
    await database.dispose()
    return results


async def _other_organization(url: str) -> int:
    database = Database(url)
    async with database.transaction(unscoped()) as session:
        organization = await identity.create_organization(session, "Elsewhere")
        organization_id = organization.id
    await database.dispose()
    return organization_id


def _summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered):,} | {statistics.median(ordered) * 1000:.1f} ms | "
        f"{p99 * 1000:.1f} ms | {ordered[-1] * 1000:.1f} ms"
    )


async def _run(url: str, file: Path, admin_id: int, importing_id: int, other_id: int) -> None:
    organizations = {"importing organization": importing_id, "other organization": other_id}
    loop = asyncio.get_running_loop()
    timer: asyncio.Future[None] = loop.create_future()
    loop.call_later(BASELINE_SECONDS, timer.set_result, None)
    baseline = await _write_until(url, organizations, timer)
    importer = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--import",
        url,
        str(file),
        str(admin_id),
        stdout=subprocess.PIPE,
    )
    finished: asyncio.Future[None] = loop.create_future()

    async def wait_for_import() -> float:
        out, _ = await importer.communicate()
        finished.set_result(None)
        return float(json.loads(out.decode().strip().splitlines()[-1])["seconds"])

    waiting = asyncio.create_task(wait_for_import())
    during = await _write_until(url, organizations, finished)
    seconds = await waiting
    print(f"import: {seconds:.1f} s", flush=True)
    print(
        "| writers of | while | writes | p50 | p99 | max |\n| --- | --- | --- | --- | --- | --- |"
    )
    for name in organizations:
        print(f"| {name} | no import (baseline) | {_summary(baseline[name])} |")
        print(f"| {name} | the import runs | {_summary(during[name])} |", flush=True)


def main(rows: int) -> None:
    admin_url = os.environ.get("BENCH_POSTGRES_URL")
    if not admin_url:
        raise SystemExit("set BENCH_POSTGRES_URL (a PostgreSQL where a database may be created)")
    with (
        tempfile.TemporaryDirectory() as directory,
        _postgres_database(admin_url, "contention") as url,
    ):
        file = Path(directory) / "register.csv"
        _write_file(file, rows)
        admin_id = asyncio.run(_prepare(url, rows))
        other_id = asyncio.run(_other_organization(url))
        importing_id = asyncio.run(_organization_of(url, admin_id))
        print(f"rows: {rows:,}, {datetime.now(UTC):%Y-%m-%d}", flush=True)
        asyncio.run(_run(url, file, admin_id, importing_id, other_id))


async def _organization_of(url: str, user_id: int) -> int:
    database = Database(url)
    async with database.read(unscoped()) as session:
        viewer = await identity.viewer_of_user(session, user_id)
    await database.dispose()
    return viewer.organization_id


if __name__ == "__main__":
    if sys.argv[1:2] == ["--import"]:
        target, path, admin = sys.argv[2:5]
        print(json.dumps({"seconds": asyncio.run(_import(target, Path(path), int(admin)))}))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
