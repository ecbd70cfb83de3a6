"""Running CSV imports inside the service: small files while the request waits, larger
ones as tasks the lifespan owns, with their progress offered to subscribers."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from models.import_job import ImportJob
from models.tenancy import unscoped
from server.database import Database
from server.metrics import Metrics
from services.csv_io.engine import BatchHook, ImportOptions, run_import
from services.csv_io.jobs import JobReport, fail_abandoned_jobs
from services.staged_events import publish_all_staged
from services.viewer import Viewer

logger = logging.getLogger("credentials.imports")

# Files up to this size are imported before the mutation answers (its job is finished);
# larger ones in the background (follow them with importJobProgress or importJob).
INLINE_MAX_BYTES = 1024 * 1024


@dataclass
class _Running:
    report: JobReport | None = None
    done: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class ImportRunner:
    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        inline_max_bytes: int = INLINE_MAX_BYTES,
        metrics: Metrics | None = None,
    ) -> None:
        self.database = database
        self.metrics = metrics
        self.clock = clock
        self.inline_max_bytes = inline_max_bytes
        self._running: dict[int, _Running] = {}
        # Awaited by each import after each batch (tests hold an import there).
        self.batch_hook: BatchHook | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def fail_abandoned(self) -> list[int]:
        """Marks failed every organization's jobs whose runner is gone (at start-up: a
        process killed mid-import may have been this server); their ids."""
        async with self.database.transaction(unscoped()) as session:
            marked = await fail_abandoned_jobs(session, self.clock())
        if marked:
            logger.warning("import jobs %s were abandoned by their process: marked failed", marked)
        # Their committed writes' events, and those of imports stopped mid-publication.
        await publish_all_staged(self.database)
        return marked

    async def start(
        self, viewer: Viewer, job: ImportJob, upload: BinaryIO, options: ImportOptions
    ) -> bool:
        """Runs the import; True when it finished before returning."""
        running = self._running[job.id] = _Running()
        if job.bytes_total <= self.inline_max_bytes:
            try:
                await self._run(viewer, job, upload, options, running)
            finally:
                self._running.pop(job.id, None)
            return True
        # The request's upload is closed when the request ends: keep a copy of our own.
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - the task closes it
        upload.seek(0)
        await asyncio.to_thread(shutil.copyfileobj, upload, copy)
        copy.seek(0)
        task = asyncio.create_task(self._in_background(viewer, job, copy, options, running))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return False

    async def _in_background(
        self,
        viewer: Viewer,
        job: ImportJob,
        copy: BinaryIO,
        options: ImportOptions,
        running: _Running,
    ) -> None:
        try:
            with copy:
                await self._run(viewer, job, copy, options, running)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("import job %s failed", job.id)
        finally:
            self._running.pop(job.id, None)

    async def _run(
        self,
        viewer: Viewer,
        job: ImportJob,
        stream: BinaryIO,
        options: ImportOptions,
        running: _Running,
    ) -> None:
        def listener(report: JobReport) -> None:
            running.report = report
            asyncio.get_running_loop().create_task(self._notify(running))

        outcome = "error"
        try:
            report = await run_import(
                self.database, viewer, job, stream, options, self.clock, listener, self.batch_hook
            )
            outcome = report.status(options.error_policy).value.lower()
            self._count_rows(report)
        finally:
            if self.metrics is not None:
                self.metrics.import_jobs.labels(outcome, str(options.dry_run).lower()).inc()
            running.done = True
            await self._notify(running)

    def _count_rows(self, report: JobReport) -> None:
        if self.metrics is None:
            return
        for result, count in (
            ("created", report.created),
            ("new_version", report.versioned),
            ("unchanged", report.unchanged),
            ("failed", report.failed_count),
        ):
            self.metrics.import_rows.labels(result).inc(count)

    async def _notify(self, running: _Running) -> None:
        async with running.changed:
            running.changed.notify_all()

    def latest(self, job_id: int) -> JobReport | None:
        """The report of a job running in this process after its last batch, if any: its
        row lags (on SQLite an all-or-nothing import cannot write it until the end)."""
        running = self._running.get(job_id)
        return running.report if running is not None and not running.done else None

    async def watch(self, job_id: int) -> AsyncIterator[JobReport | None]:
        """Each change of a job running in this process (None: not running here); ends
        when the job ends."""
        running = self._running.get(job_id)
        if running is None:
            yield None
            return
        while True:
            async with running.changed:
                if running.done:
                    return
                await running.changed.wait()
            yield running.report

    async def finished(self) -> None:
        """Returns once every background import of this process has ended."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Cancels running imports: each saves itself as interrupted (REJECT_EVERYTHING
        ones roll back whole)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
