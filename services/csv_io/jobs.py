"""Import jobs: starting one (with the permission checks), its running report, and saving
it to the job row in transactions of its own."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from models.import_job import (
    ErrorPolicy,
    ImportJob,
    ImportRowResult,
    ImportStatus,
    insert_results,
    select_job,
    select_results,
    select_running_jobs,
    update_job_progress,
)
from models.tenancy import scoped_to
from services.credentials import policy
from services.csv_io.errors import ImportErrorCode
from services.csv_io.liveness import runner_gone, this_process
from services.errors import DomainError
from services.viewer import Viewer

if TYPE_CHECKING:
    from services.csv_io.engine import ImportOptions
    from services.csv_io.rows import Problem

# Row problems stored per job: enough to fix a file, bounded for a million bad rows.
MAX_STORED_RESULTS = 10_000
_RESULT_BATCH = 1_000
MAX_FILE_NAME = 255


class _Sessions(Protocol):
    def transaction(self, info: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass
class JobReport:
    """Counts and problems of an import as it runs."""

    job_id: int
    bytes_total: int = 0
    bytes_read: int = 0
    rows_read: int = 0
    created: int = 0
    versioned: int = 0
    unchanged: int = 0
    failed_count: int = 0
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    truncated: bool = False
    file_failed: bool = False
    interrupted: bool = False

    def fail(self, row_number: int, problems: list[Problem]) -> None:
        if row_number > 1:
            self.failed_count += 1
        for problem in problems:
            if len(self.problems) < MAX_STORED_RESULTS:
                self.problems.append((row_number, problem))
            else:
                self.truncated = True

    def count(self, rows: int, created: int, versioned: int, unchanged: int) -> None:
        self.rows_read += rows
        self.created += created
        self.versioned += versioned
        self.unchanged += unchanged

    def undo_writes(self) -> None:
        """Everything written rolled back: nothing was created or versioned."""
        self.created = self.versioned = 0

    def status(self, error_policy: ErrorPolicy) -> ImportStatus:
        if self.file_failed or self.interrupted:
            return ImportStatus.FAILED
        if not self.failed_count:
            return ImportStatus.SUCCEEDED
        if error_policy is ErrorPolicy.REJECT_EVERYTHING:
            return ImportStatus.FAILED
        imported = self.created + self.versioned + self.unchanged
        return ImportStatus.PARTIALLY_SUCCEEDED if imported else ImportStatus.FAILED

    def progress_values(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "bytes_read": self.bytes_read,
            "created_count": self.created,
            "versioned_count": self.versioned,
            "unchanged_count": self.unchanged,
            "failed_count": self.failed_count,
        }


async def start_job(
    sessions: _Sessions,
    viewer: Viewer,
    file_name: str,
    options: ImportOptions,
    bytes_total: int,
    now: datetime,
) -> ImportJob:
    """A RUNNING job, committed, so that its progress can be followed; refused without
    the permissions to import (or to approve, with approveAll)."""
    if not policy.can_import(viewer):
        raise DomainError(
            ImportErrorCode.PERMISSION_DENIED,
            'Importing credentials needs "Platform management: Users" (USERS_MANAGE) or '
            '"Companies: Manage" (COMPANIES_MANAGE).',
        )
    if options.approve_all and not policy.can_approve_on_import(viewer):
        raise DomainError(
            ImportErrorCode.PERMISSION_DENIED,
            "approveAll needs the CREDENTIALS_MANAGE permission: import without it and the "
            "versions wait for review.",
            "approveAll",
        )
    async with sessions.transaction(scoped_to(viewer.organization_id)) as session:
        await fail_abandoned_jobs(session, now)
        job = ImportJob(
            organization_id=viewer.organization_id,
            created_by_id=viewer.user_id,
            file_name=(file_name or "upload.csv")[:MAX_FILE_NAME],
            dry_run=options.dry_run,
            approve_all=options.approve_all,
            error_policy=options.error_policy,
            status=ImportStatus.RUNNING,
            bytes_total=bytes_total,
            created_at=now,
            runner=this_process(),
            heartbeat_at=now,
        )
        session.add(job)
        await session.flush()
    return job


async def save_progress(
    sessions: _Sessions, scope: dict[str, Any], report: JobReport, now: datetime
) -> None:
    """The counts so far, and a heartbeat: the runner is alive."""
    async with sessions.transaction(scope) as session:
        values = report.progress_values() | {"heartbeat_at": now}
        await session.execute(update_job_progress(report.job_id, values))


def _interrupted(
    organization_id: int, job_id: int, row_number: int, policy: ErrorPolicy
) -> dict[str, Any]:
    """The row result of an import that stopped before the end of its file."""
    return {
        "organization_id": organization_id,
        "job_id": job_id,
        "row_number": row_number,
        "column": None,
        "code": ImportErrorCode.INTERRUPTED.value,
        "message": "The import stopped before the end of the file: "
        + (
            "nothing was imported; import the file again."
            if policy is ErrorPolicy.REJECT_EVERYTHING
            else "import the file again to complete it (rows already imported are left "
            "as they are)."
        ),
    }


async def fail_abandoned_jobs(session: AsyncSession, now: datetime) -> list[int]:
    """Marks FAILED, with an INTERRUPTED row result, the RUNNING jobs (those the session
    sees) whose runner is gone: a killed process never saved its end. Under
    REJECT_EVERYTHING its data rolled back with it; the ids of the jobs marked."""
    marked = []
    for job in list(await session.scalars(select_running_jobs())):
        if not runner_gone(job.runner, job.heartbeat_at or job.created_at, now):
            continue
        job.status = ImportStatus.FAILED
        job.finished_at = now
        if job.error_policy is ErrorPolicy.REJECT_EVERYTHING and not job.dry_run:
            job.created_count = job.versioned_count = 0
        await session.execute(
            insert_results(),
            [_interrupted(job.organization_id, job.id, job.rows_read + 1, job.error_policy)],
        )
        marked.append(job.id)
    await session.flush()
    return marked


async def save_report(
    sessions: _Sessions,
    scope: dict[str, Any],
    report: JobReport,
    options: ImportOptions,
    now: datetime,
) -> None:
    """The final counts, status and stored row problems, in one transaction."""
    async with sessions.transaction(scope) as session:
        values = report.progress_values() | {
            "status": report.status(options.error_policy),
            "results_truncated": report.truncated,
            "finished_at": now,
        }
        await session.execute(update_job_progress(report.job_id, values))
        organization_id = scope["organization_id"]
        rows = [
            {
                "organization_id": organization_id,
                "job_id": report.job_id,
                "row_number": row_number,
                "column": problem.column_title,
                "code": problem.code.value,
                "message": problem.message,
            }
            for row_number, problem in report.problems
        ]
        if report.interrupted:
            rows.append(
                _interrupted(
                    organization_id, report.job_id, report.rows_read + 1, options.error_policy
                )
            )
        connection = await session.connection()
        for start in range(0, len(rows), _RESULT_BATCH):
            await connection.execute(insert_results(), rows[start : start + _RESULT_BATCH])


async def get_job(session: AsyncSession, viewer: Viewer, job_id: int) -> ImportJob | None:
    """The job if the viewer started it (its report speaks of the rows they imported)."""
    job = await session.scalar(select_job(job_id))
    if job is None or job.created_by_id != viewer.user_id:
        return None
    return job


async def job_results(session: AsyncSession, job_id: int, limit: int) -> list[ImportRowResult]:
    return list(await session.scalars(select_results(job_id, limit)))
