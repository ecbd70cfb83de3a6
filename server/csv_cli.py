"""The `import-csv` and `export-csv` commands (registered by server.cli). A command owns
its process: reading and writing local files in its event loop blocks nobody."""

# ruff: noqa: ASYNC230, ASYNC240

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from models.base import utcnow
from models.import_job import ErrorPolicy, ImportStatus
from models.tenancy import scoped_to, unscoped
from server.cli_errors import CommandError, ExitCode
from server.database import Database
from server.settings import Settings
from services import identity
from services.csv_io.engine import ImportOptions, run_import
from services.csv_io.export import export_csv
from services.csv_io.jobs import JobReport, start_job
from services.visibility import search_scope

Command = Callable[[argparse.Namespace, Settings], None]


class ProgressBar:
    """The import's progress on a terminal (rich), shown from the first batch on."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task = self._progress.add_task("import", total=None, counts="")
        self._started = False

    def __call__(self, report: JobReport) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        self._progress.update(
            self._task,
            completed=report.bytes_read,
            total=report.bytes_total or None,
            counts=f"{report.rows_read:,} rows: {report.created:,} new, "
            f"{report.versioned:,} versions, {report.unchanged:,} unchanged, "
            f"{report.failed_count:,} failed",
        )

    def close(self) -> None:
        if self._started:
            self._progress.refresh()
            self._progress.stop()


def progress_bar(stream: TextIO, *, quiet: bool) -> ProgressBar | None:
    """A progress bar on `stream` if it is a terminal: never in a pipe, a file or a log."""
    if quiet or not stream.isatty():
        return None
    return ProgressBar(Console(file=stream))


def judge_import(report: dict[str, Any]) -> None:
    """After the report is printed: a FAILED job is the command failing (exit FAILED)."""
    if report["status"] == ImportStatus.FAILED.value:
        first = report["problems"][0] if report["problems"] else None
        reason = f" ({first['code']}: {first['message']})" if first else ""
        raise CommandError(
            f"the import failed{reason}: nothing was imported; the report is on stdout",
            ExitCode.FAILED,
        )


async def import_file(
    database: Database, args: argparse.Namespace, progress: ProgressBar | None
) -> dict[str, Any]:
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path} is not a file", ExitCode.FILE)
    async with database.read(unscoped()) as session:
        viewer = await identity.viewer_of_user(session, args.user)
    options = ImportOptions(
        dry_run=args.dry_run,
        approve_all=args.approve_all,
        error_policy=ErrorPolicy.SKIP_FAILED_ROWS
        if args.skip_failed_rows
        else ErrorPolicy.REJECT_EVERYTHING,
    )
    with path.open("rb") as stream:
        job = await start_job(database, viewer, path.name, options, path.stat().st_size, utcnow())
        try:
            report = await run_import(database, viewer, job, stream, options, utcnow, progress)
        finally:
            if progress is not None:
                progress.close()
    return {
        "job_id": job.id,
        "status": report.status(options.error_policy).value,
        "dry_run": options.dry_run,
        "rows": report.rows_read,
        "created": report.created,
        "versioned": report.versioned,
        "unchanged": report.unchanged,
        "failed": report.failed_count,
        "problems": [
            {"row": row, "column": p.column_title, "code": p.code.value, "message": p.message}
            for row, p in report.problems[: args.show_problems]
        ],
    }


async def export_file(database: Database, args: argparse.Namespace, filter_json: str | None) -> int:
    from schema import build_schema
    from schema.csv_io import credential_filter_from_json

    try:
        credential_filter = credential_filter_from_json(build_schema(), filter_json)
    except ValueError as error:
        raise CommandError(f"--filter: {error}", ExitCode.USAGE) from None
    target = None if args.output == "-" else Path(args.output)
    if target is not None and target.exists():
        raise CommandError(f"{target} exists: choose a new file", ExitCode.FILE)
    async with database.read(unscoped()) as session:
        viewer = await identity.viewer_of_user(session, args.user)
    out: TextIO
    if target is None:
        out = sys.stdout
    else:
        try:
            out = target.open("x", encoding="utf-8", newline="")
        except OSError as error:
            raise CommandError(f"cannot write {target}: {error.strerror}", ExitCode.FILE) from None
    written = 0
    try:
        async with database.read(scoped_to(viewer.organization_id)) as session:
            async for chunk in export_csv(
                session, viewer, credential_filter, search_scope(viewer), utcnow().date()
            ):
                out.write(chunk)
                written += len(chunk)
    finally:
        if out is not sys.stdout:
            out.close()
    return written


def add_commands(commands: Any, run_import_csv: Command, run_export_csv: Command) -> None:
    """Adds the two commands to server.cli's subparsers."""
    imp = commands.add_parser(
        "import-csv",
        help="import credentials from a CSV file as a user (dry run unless --no-dry-run)",
    )
    imp.add_argument("file", help="the CSV file (see GET /credentials/template.csv)")
    imp.add_argument("--user", type=int, required=True, help="id of the user importing")
    imp.add_argument(
        "--dry-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check and report without writing (default); --no-dry-run imports",
    )
    imp.add_argument("--approve-all", action="store_true", help="approve the imported versions")
    imp.add_argument(
        "--skip-failed-rows",
        action="store_true",
        help="import the good rows (default: nothing unless every row is good)",
    )
    imp.add_argument("--show-problems", type=int, default=20, help="problems to print")
    imp.add_argument(
        "--quiet", action="store_true", help="no progress bar (there is none unless on a terminal)"
    )
    imp.set_defaults(run=run_import_csv)

    exp = commands.add_parser("export-csv", help="export credentials as CSV, as a user sees them")
    exp.add_argument("--user", type=int, required=True, help="id of the user exporting")
    exp.add_argument(
        "--filter", help='a CredentialFilterInput as JSON, e.g. \'{"archived": "INCLUDE"}\''
    )
    exp.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    exp.set_defaults(run=run_export_csv)
