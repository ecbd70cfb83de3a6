"""CSV import entry points: start a job from an upload, read a job, follow its progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import BinaryIO

from strawberry import Info

from models.import_job import ImportJob, ImportRowResult, ImportStatus
from resolvers.context import RequestContext
from server.imports import ImportRunner
from services.csv_io.engine import ImportOptions
from services.csv_io.jobs import JobReport, get_job, job_results, start_job

# How often a subscriber to a job running on another instance reads its row.
POLL_INTERVAL_S = 1.0


def _runner(info: Info[RequestContext, None]) -> ImportRunner:
    runner: ImportRunner = info.context.request.app.state.imports
    return runner


def _size(stream: BinaryIO) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


async def resolve_import(
    info: Info[RequestContext, None], file_name: str, stream: BinaryIO, options: ImportOptions
) -> ImportJob:
    """Starts the job (refused with a DomainError without permission) and runs it."""
    context = info.context
    viewer = context.require_viewer()
    try:
        job = await start_job(
            context.database, viewer, file_name, options, _size(stream), context.now()
        )
        await _runner(info).start(viewer, job, stream, options)
    finally:
        stream.close()  # the runner keeps a copy of its own for a background import
    found = await resolve_job(info, job.id)
    assert found is not None, "the viewer started the job"
    return found


async def resolve_job(info: Info[RequestContext, None], job_id: int | None) -> ImportJob | None:
    """The job as its row has it, with the progress of its last batch when it runs in
    this process."""
    if job_id is None:
        return None
    async with info.context.read() as session:
        job = await get_job(session, info.context.require_viewer(), job_id)
    if job is None or job.status is not ImportStatus.RUNNING:
        return job
    report = _runner(info).latest(job.id)
    return _with_progress(job, report) if report is not None else job


async def resolve_results(
    info: Info[RequestContext, None], job_id: int, first: int
) -> list[ImportRowResult]:
    async with info.context.read() as session:
        return await job_results(session, job_id, first)


async def watch_job(
    info: Info[RequestContext, None], job_id: int | None
) -> AsyncIterator[ImportJob]:
    """The job now, then after each batch while it runs, ending with its final state. A
    job running on another instance is followed by reading its row."""
    job = await resolve_job(info, job_id)
    if job is None:
        return
    yield job
    if job.status is not ImportStatus.RUNNING:
        return
    runner = _runner(info)
    async for report in runner.watch(job.id):
        if report is None:
            break
        job = _with_progress(job, report)
        yield job
    while True:
        job = await resolve_job(info, job.id) or job
        if job.status is not ImportStatus.RUNNING:
            yield job
            return
        yield job
        await asyncio.sleep(POLL_INTERVAL_S)


def _with_progress(job: ImportJob, report: JobReport) -> ImportJob:
    """The job as the running import's report has it (its row is saved less often)."""
    return ImportJob(
        id=job.id,
        organization_id=job.organization_id,
        created_by_id=job.created_by_id,
        file_name=job.file_name,
        dry_run=job.dry_run,
        approve_all=job.approve_all,
        error_policy=job.error_policy,
        status=ImportStatus.RUNNING,
        rows_read=report.rows_read,
        bytes_read=report.bytes_read,
        bytes_total=job.bytes_total,
        created_count=report.created,
        versioned_count=report.versioned,
        unchanged_count=report.unchanged,
        failed_count=report.failed_count,
        results_truncated=report.truncated,
        created_at=job.created_at,
        finished_at=None,
    )
