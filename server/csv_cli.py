"""The `import-csv` and `export-csv` commands (registered by server.cli). A command owns
its process: reading and writing local files in its event loop blocks nobody."""

# ruff: noqa: ASYNC230, ASYNC240

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from models.base import utcnow
from models.import_job import ErrorPolicy
from models.tenancy import scoped_to, unscoped
from server.database import Database
from server.settings import Settings, SettingsError
from services import identity
from services.csv_io.engine import ImportOptions, run_import
from services.csv_io.export import export_csv
from services.csv_io.jobs import JobReport, start_job
from services.visibility import search_scope

_BAR_WIDTH = 30
Command = Callable[[argparse.Namespace, Settings], None]


class ProgressBar:
    """One line on a terminal, redrawn after each batch."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, report: JobReport) -> None:
        share = report.bytes_read / report.bytes_total if report.bytes_total else 1.0
        filled = int(_BAR_WIDTH * min(share, 1.0))
        self.out.write(
            f"\r[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {share:6.1%} "
            f"{report.rows_read:,} rows: {report.created:,} new, {report.versioned:,} "
            f"versions, {report.unchanged:,} unchanged, {report.failed_count:,} failed"
        )
        self.out.flush()

    def close(self) -> None:
        self.out.write("\n")
        self.out.flush()


async def import_file(
    database: Database, args: argparse.Namespace, progress: ProgressBar | None
) -> dict[str, Any]:
    path = Path(args.file)
    if not path.is_file():
        raise SettingsError(f"{path} is not a file")
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
        raise SettingsError(f"--filter: {error}") from None
    async with database.read(unscoped()) as session:
        viewer = await identity.viewer_of_user(session, args.user)
    out: TextIO
    if args.output == "-":
        out = sys.stdout
    else:
        target = Path(args.output)
        if target.exists():
            raise SettingsError(f"{target} exists: choose a new file")
        out = target.open("w", encoding="utf-8", newline="")
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
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(run=run_import_csv)

    exp = commands.add_parser("export-csv", help="export credentials as CSV, as a user sees them")
    exp.add_argument("--user", type=int, required=True, help="id of the user exporting")
    exp.add_argument(
        "--filter", help='a CredentialFilterInput as JSON, e.g. \'{"archived": "INCLUDE"}\''
    )
    exp.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    exp.set_defaults(run=run_export_csv)
