"""Command line: the expiry sweep (reminders and digests) and the delivery worker, each
for a process of its own (cron, or a worker beside the instances)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from models.base import utcnow
from server.cli import emit, on_database, require_migrated
from server.database import Database
from server.logs import configure_logging
from server.settings import Settings


def add_commands(commands: Any) -> None:
    """Adds sweep-expiry and deliver-notifications to server.cli's subparsers."""
    sweep_expiry = commands.add_parser(
        "sweep-expiry",
        help="send the expiry reminders that are due (for cron; instances also sweep unless "
        "EXPIRY_SCHEDULER=off)",
    )
    sweep_expiry.add_argument(
        "--dry-run", action="store_true", help="print the reminders that are due; send nothing"
    )
    sweep_expiry.set_defaults(run=_sweep_expiry)
    deliver = commands.add_parser(
        "deliver-notifications",
        help="send the emails that are due, then exit (or keep at it with --loop); safe "
        "beside instances whose DELIVERY_WORKER is on",
    )
    deliver.add_argument("--loop", action="store_true", help="run until stopped")
    deliver.set_defaults(run=_deliver_notifications)


def _sweep_expiry(args: argparse.Namespace, settings: Settings) -> None:
    """One expiry sweep and the digests due, for cron: safe beside running instances
    (they share the claims). With --dry-run, prints what is due and sends nothing."""
    from server.broker import organization_signal, publish_once
    from server.expiry_scheduler import run_digests, run_sweep

    async def sweep_due(database: Database) -> dict[str, Any]:
        await require_migrated(database)
        touched: set[int] = set()
        database.on_events_committed(touched.add)
        now = utcnow()
        result = await run_sweep(
            database,
            lambda: now,
            expired_window_days=settings.expired_reminder_window_days,
            dry_run=args.dry_run,
        )
        digests = await run_digests(
            database, lambda: now, settings.email_public_url(), dry_run=args.dry_run
        )
        await publish_once(settings.broadcast_url, map(organization_signal, touched))
        summary: dict[str, Any] = {
            "due": len(result.due),
            "reminders_sent": result.reminders_sent,
            "busy": result.busy,
            "digests_due": len(digests.due),
            "digests_queued": digests.queued,
        }
        if args.dry_run:
            summary["reminders"] = [due.as_dict(now.date()) for due in result.due]
            summary["digests"] = [due.as_dict(now.date()) for due in digests.due]
        return summary

    configure_logging(settings.log_level)
    emit(on_database(settings, sweep_due))


def _deliver_notifications(args: argparse.Namespace, settings: Settings) -> None:
    """One delivery pass (or passes every DELIVERY_INTERVAL_S with --loop), for a
    process of its own: safe beside running instances (claims are disjoint)."""
    from server.delivery_worker import DeliveryWorker

    async def deliver(database: Database) -> dict[str, Any]:
        await require_migrated(database)
        worker = DeliveryWorker(database, settings, utcnow)
        while True:
            result = await worker.run_pass()
            counts = {f"{c.value.lower()}_{o.value}": n for (c, o), n in result.counts.items()}
            if not args.loop:
                return counts
            if counts:
                emit(counts)
            await asyncio.sleep(settings.delivery_interval_s)  # the period between passes

    configure_logging(settings.log_level)
    emit(on_database(settings, deliver))
