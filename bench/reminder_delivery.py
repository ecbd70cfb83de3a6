"""Expiry reminders from due to delivered: one sweep of a register whose N credentials are
all due, then the delivery worker until every email is out, to a local SMTP server in a
process of its own (bench/smtp_sink.py, aiosmtpd), on SQLite.

The baseline, in the same run and against the same server, is the fastest correct way to
compose and send as many messages with nothing else to do: messages of the same size
(text and HTML alternatives) composed with the email package's compat32 classes (the
fastest of its ways: EmailMessage takes three times as long), sent over one reused
connection by aiosmtplib and by the stdlib smtplib; the faster of the two is the baseline.

The sink runs on one core and the sender on the other (taskset / sched_setaffinity), so
neither takes the other's CPU; the two are measured in alternating rounds.

Run from the project root:
PYTHONPATH=. .venv/bin/python bench/reminder_delivery.py [N [ROUNDS]] (default: 100000 3).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from email import policy
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path

import aiosmtplib

from bench.expiry_sweep import NOW, prepare_register
from server.database import Database
from server.delivery_worker import DeliveryWorker
from server.expiry_scheduler import run_sweep
from server.settings import Settings
from tests.server.process import free_port

ROUNDS = 3
SINK_CPU, SENDER_CPU = 1, 0
_WIRE = policy.compat32.clone(linesep="\r\n")


@contextmanager
def _sink() -> Iterator[tuple[int, list[int]]]:
    """A running sink's port, and (after the block) [received, distinct Message-IDs]."""
    port = free_port()
    process = subprocess.Popen(
        ["taskset", "-c", str(SINK_CPU), sys.executable, "bench/smtp_sink.py", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": "."},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    counts: list[int] = []
    try:
        yield port, counts
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=60)
        counts.extend(int(n) for n in out.split())


async def _ours(path: Path, port: int) -> tuple[float, int]:
    """Seconds from the sweep's start until the worker has sent every email."""
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{path}",
        smtp_url=f"smtp://127.0.0.1:{port}",
        public_url="https://dash.example.com",
    )
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await database.ping()
        worker = DeliveryWorker(database, settings, lambda: NOW)
        started = time.perf_counter()
        swept = await run_sweep(database, lambda: NOW)
        sent = 0
        while True:
            result = (await worker.run_pass()).counts
            done = sum(result.values())
            sent += done
            if not done:
                break
        return time.perf_counter() - started, swept.reminders_sent
    finally:
        await database.dispose()


def _message(n: int) -> tuple[str, bytes]:
    """(recipient, message) of the same shape as ours: subject, text and HTML bodies."""
    message = MIMEMultipart("alternative")
    message["Subject"] = f"Your Licence {n % 20} expires in 7 days (8 Mar 2027)"
    message["From"] = "no-reply@dash.example.com"
    message["To"] = f"Worker {n} <w{n}@example.com>"
    message["Date"] = format_datetime(NOW)
    message["Message-ID"] = f"<raw-{n}@dash.example.com>"
    text = (
        f"Hello Worker {n},\n\nYour Licence {n % 20} expires in 7 days (8 Mar 2027).\n"
        f"Renew it: https://dash.example.com/credentials/Q3JlZGVudGlhbDox{n}\n"
    )
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(f"<p>{text}</p>\n", "html", "utf-8"))
    return f"w{n}@example.com", message.as_bytes(policy=_WIRE)


async def _raw_aiosmtplib(port: int, count: int) -> float:
    started = time.perf_counter()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        for n in range(count):
            recipient, raw = _message(n)
            await client.sendmail("no-reply@dash.example.com", [recipient], raw)
    return time.perf_counter() - started


def _raw_smtplib(port: int, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n in range(count):
            recipient, raw = _message(n)
            client.sendmail("no-reply@dash.example.com", [recipient], raw)
    return time.perf_counter() - started


def main(count: int, rounds: int) -> None:
    os.sched_setaffinity(0, {SENDER_CPU})
    with tempfile.TemporaryDirectory() as folder:
        seeded = Path(folder) / "seeded.db"
        asyncio.run(prepare_register(seeded, count, due=count))
        ours, raw_async, raw_sync = [], [], []
        for round_number in range(rounds):
            run = Path(folder) / f"run-{round_number}.db"
            shutil.copy(seeded, run)
            with _sink() as (port, counts):
                seconds, swept = asyncio.run(_ours(run, port))
            assert swept == count, swept
            assert counts == [count, count], counts  # each once, none repeated
            ours.append(seconds)
            with _sink() as (port, counts):
                raw_async.append(asyncio.run(_raw_aiosmtplib(port, count)))
            assert counts[0] == count, counts
            with _sink() as (port, counts):
                raw_sync.append(_raw_smtplib(port, count))
            assert counts[0] == count, counts
            print(
                f"round {round_number + 1}: ours {count / seconds:,.0f}/s, "
                f"aiosmtplib {count / raw_async[-1]:,.0f}/s, smtplib {count / raw_sync[-1]:,.0f}/s",
                flush=True,
            )
    ours_rate = count / statistics.median(ours)
    baseline = max(count / statistics.median(raw_async), count / statistics.median(raw_sync))
    print()
    print("| reminders | sweep + delivery (ours) | raw aiosmtplib | raw smtplib | ours / fastest |")
    print("| --- | --- | --- | --- | --- |")
    print(
        f"| {count:,} | {ours_rate:,.0f}/s | {count / statistics.median(raw_async):,.0f}/s | "
        f"{count / statistics.median(raw_sync):,.0f}/s | {ours_rate / baseline:.2f}x |"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else ROUNDS,
    )
