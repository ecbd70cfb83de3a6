"""The expiry sweep's cost follows the credentials inside the reminder horizon, not the size
of the register: sweeps of a register of 100,000 credentials and of one of 1,000,000, each
with the same 1,000 due (expiring within the defaults' 30 days), in one run, on SQLite, in
turns (ROUNDS each): a dry run (the read and the judging), and a real sweep on a fresh
copy of the register (writing the reminders, events, notifications and emails).

Each register also gets the fastest correct read of what is due, in the same run: one
hand-written SQL statement over the same index through the stdlib sqlite3 driver (the
read the sweep's judging starts from), so the figures can be read against the machine.

Run from the project root: PYTHONPATH=. .venv/bin/python bench/expiry_sweep.py [SIZES...]
(default sizes: 100000 1000000).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from models import ApprovalStatus, Base, Credential, CredentialType, CredentialVersion, User
from models.tenancy import unscoped
from server.database import Database
from server.expiry_scheduler import run_sweep
from server.migrations import upgrade_to_head
from services import identity

DUE = 1_000
TYPES = 20
ROUNDS = 5
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TODAY = NOW.date()

RAW_DUE = """
SELECT v.id, v.expiry_date, c.holder_id, s.expiry_reminders, s.lead_days,
       (SELECT min(r.lead_days) FROM expiry_reminders r
         WHERE r.version_id = v.id AND r.kind = 'EXPIRING_SOON'),
       EXISTS (SELECT 1 FROM expiry_reminders r WHERE r.version_id = v.id AND r.kind = 'EXPIRED')
FROM credential_versions v
JOIN credentials c ON c.id = v.credential_id
JOIN users u ON u.id = c.holder_id
LEFT JOIN notification_settings s ON s.user_id = c.holder_id
WHERE v.approval_status = 'APPROVED' AND v.expiry_date BETWEEN ? AND ?
  AND c.archived_at IS NULL AND u.is_active = 1
  AND NOT EXISTS (SELECT 1 FROM credential_versions n WHERE n.credential_id = v.credential_id
                  AND n.number > v.number AND n.approval_status = 'APPROVED')
"""


def _chunks(rows: list[dict[str, Any]], size: int = 50_000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def prepare_register(path: Path, credentials: int, due: int = DUE) -> None:
    """A migrated SQLite database of one organization holding `credentials` approved
    credentials, `due` of them expiring within 30 days, the rest one to five years out."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade_to_head(database)
    async with database.transaction(unscoped()) as session:
        organization = await identity.create_organization(session, "Bench")
    await database.dispose()
    _seed(path, organization.id, credentials, due)


def _seed(path: Path, organization_id: int, credentials: int, due: int) -> None:
    engine = create_engine(f"sqlite:///{path}")
    users = credentials // TYPES
    with engine.begin() as connection:

        def bulk(model: type[Base], rows: list[dict[str, Any]]) -> None:
            for chunk in _chunks(rows):
                connection.execute(insert(model.__table__), chunk)  # type: ignore[arg-type]

        bulk(
            User,
            [
                {"id": i + 1, "organization_id": organization_id, "name": f"Worker {i}",
                 "name_key": f"worker {i}", "email": f"w{i}@example.com",
                 "email_key": f"w{i}@example.com", "is_active": True, "created_at": NOW}
                for i in range(users)
            ],
        )  # fmt: skip
        bulk(
            CredentialType,
            [
                {"id": t + 1, "organization_id": organization_id, "name": f"Licence {t}",
                 "name_key": f"licence {t}", "description": "", "issue_date_rule": "REQUIRED",
                 "expiry_date_rule": "REQUIRED", "media_rule": "OPTIONAL",
                 "never_expires": False, "created_at": NOW, "updated_at": NOW}
                for t in range(TYPES)
            ],
        )  # fmt: skip
        step = credentials // due

        def expiry(n: int) -> date:
            if n % step == 0 and n // step < due:
                return TODAY + timedelta(days=n // step % 31)
            return TODAY + timedelta(days=365 + n % 1460)

        bulk(
            Credential,
            [
                {"id": n + 1, "organization_id": organization_id, "type_id": n % TYPES + 1,
                 "holder_id": n // TYPES + 1, "latest_version_number": 1, "revision": 1,
                 "created_at": NOW, "updated_at": NOW}
                for n in range(credentials)
            ],
        )  # fmt: skip
        bulk(
            CredentialVersion,
            [
                {"id": n + 1, "organization_id": organization_id, "credential_id": n + 1,
                 "number": 1, "issue_date": expiry(n) - timedelta(days=1095),
                 "expiry_date": expiry(n), "credential_number": f"N-{n}",
                 "approval_status": ApprovalStatus.APPROVED, "created_at": NOW,
                 "updated_at": NOW}
                for n in range(credentials)
            ],
        )  # fmt: skip
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


async def _sweep(path: Path, dry_run: bool) -> tuple[float, int]:
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await database.ping()
        started = time.perf_counter()
        result = await run_sweep(database, lambda: NOW, dry_run=dry_run)
        elapsed = time.perf_counter() - started
    finally:
        await database.dispose()
    return elapsed, len(result.due) if dry_run else result.reminders_sent


def _raw_read(path: Path) -> tuple[float, int]:
    connection = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        rows = connection.execute(
            RAW_DUE, ((TODAY - timedelta(days=30)).isoformat(), (TODAY + timedelta(30)).isoformat())
        ).fetchall()
        return time.perf_counter() - started, len(rows)
    finally:
        connection.close()


def main(sizes: list[int]) -> None:
    figures: dict[int, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        seeded = {size: Path(folder) / f"sweep-{size}.db" for size in sizes}
        for size, path in seeded.items():
            started = time.perf_counter()
            asyncio.run(prepare_register(path, size))
            print(f"seeded {size:,} credentials in {time.perf_counter() - started:.1f} s")
            figures[size] = {"raw": [], "dry": [], "sweep": []}
        # The registers in turns, so that other work on the machine falls on each alike; a
        # real sweep writes its reminders, so each runs on a fresh copy.
        for _ in range(ROUNDS):
            for size, path in seeded.items():
                seconds, found = _raw_read(path)
                assert found == DUE, found
                figures[size]["raw"].append(seconds)
                seconds, due = asyncio.run(_sweep(path, dry_run=True))
                assert due == DUE, due
                figures[size]["dry"].append(seconds)
                copy = path.with_suffix(".run.db")
                shutil.copy(path, copy)
                os.sync()  # the copy's writeback must not fall into the sweep's timing
                seconds, sent = asyncio.run(_sweep(copy, dry_run=False))
                assert sent == DUE, sent
                figures[size]["sweep"].append(seconds)
                copy.unlink()
    results = {
        size: {what: statistics.median(values) for what, values in measured.items()}
        for size, measured in figures.items()
    }
    print()
    print("| credentials | due | raw read of what is due (sqlite3) | sweep, dry run | sweep |")
    print("| --- | --- | --- | --- | --- |")
    for size, figures in results.items():
        print(
            f"| {size:,} | {DUE:,} | {figures['raw'] * 1000:.1f} ms | "
            f"{figures['dry'] * 1000:.1f} ms | {figures['sweep'] * 1000:.1f} ms |"
        )
    if len(results) >= 2:
        small, large = results[min(results)], results[max(results)]
        ratios = {what: large[what] / small[what] for what in ("sweep", "dry", "raw")}
        print(
            f"\nlargest / smallest register: sweep {ratios['sweep']:.2f}x, "
            f"dry run {ratios['dry']:.2f}x, raw read {ratios['raw']:.2f}x"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
