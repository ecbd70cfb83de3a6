"""The import engine: streams a CSV file in batches, checks each row, and writes what is
new with set-based inserts (never an ORM object or a commit per row).

- REJECT_EVERYTHING: one transaction for the whole file. At the first failed row writing
  stops, the rest is still checked (the report lists every problem), and everything rolls
  back. A process killed mid-import leaves nothing: the transaction never committed.
- SKIP_FAILED_ROWS: one transaction per batch; failed rows are left out. Re-importing
  the same file after an interruption completes it (a row equal to its credential's
  latest version is a no-op).
- Dry run: only reads. Every (holder, type) pair may appear once in a file, so no row
  depends on another's write and the report is the one a real import would give.

Each new credential writes its SUBMITTED event, each new version VERSION_ADDED, and each
approval (approveAll) APPROVED, inserted in bulk in the same transaction: subscribers
and the audit trail see imported credentials as any others. On PostgreSQL they are
staged in that transaction and published into the log after it commits, a short
transaction per batch (services.staged_events), so no other writer of the organization
waits for the import. No notifications: holders are not told about a register being
loaded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, BinaryIO, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import ApprovalStatus
from models.credential_bulk import (
    select_active_users,
    select_live_latest,
    select_types,
    update_latest_versions,
)
from models.credential_bulk_insert import BulkWriter, NewCredentials, NewVersions
from models.event import prepare_event_writes
from models.import_job import ErrorPolicy, ImportJob, ImportStatus
from models.tenancy import scoped_to
from services.credentials import policy
from services.credentials.settings import load_settings
from services.csv_io.columns import COLUMNS
from services.csv_io.errors import ImportErrorCode
from services.csv_io.jobs import JobReport, save_progress, save_report
from services.csv_io.reader import CsvRows, FileProblem
from services.csv_io.rows import (
    EXPIRY,
    EXTERNAL_ID,
    HOLDER,
    ISSUE,
    NUMBER,
    TYPE_ID,
    HolderRef,
    PairSet,
    ParsedRow,
    Problem,
    RowParser,
)
from services.staged_events import publish_staged
from services.viewer import Viewer

logger = logging.getLogger("credentials.imports")

# Small enough that checking the next batch overlaps most of the last one's writing
# (at 20,000 rows 1,000 beat 5,000), large enough that each batch's look-up is cheap.
BATCH_SIZE = 1_000
# Batches between progress saves to the job row (its own short transaction).
PROGRESS_EVERY_BATCHES = 20


class Sessions(Protocol):
    """What the engine needs of the database (server.database.Database)."""

    is_sqlite: bool

    def read(self, info: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]: ...

    def transaction(self, info: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = True
    approve_all: bool = False
    error_policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING


ProgressListener = Callable[[JobReport], None]
# Awaited after each batch, once its progress is out: a seam for tests that hold an
# import between batches (and look at it from outside) without sleeping.
BatchHook = Callable[[JobReport], Awaitable[None]]


class _RolledBack(Exception):
    """Raised inside the REJECT_EVERYTHING transaction to undo it."""


@dataclass
class _Plan:
    """What one batch writes."""

    creates: list[ParsedRow] = field(default_factory=list)
    versions: list[tuple[ParsedRow, int, int, str | None]] = field(default_factory=list)
    unchanged: int = 0


def _batches(rows: Iterable[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch


class _Import:
    def __init__(
        self,
        sessions: Sessions,
        viewer: Viewer,
        job: ImportJob,
        options: ImportOptions,
        clock: Callable[[], datetime],
        listener: ProgressListener | None,
        batch_hook: BatchHook | None,
    ) -> None:
        self.sessions = sessions
        self.viewer = viewer
        self.options = options
        self.clock = clock
        self.listener = listener
        self.batch_hook = batch_hook
        self.report = JobReport(job_id=job.id, bytes_total=job.bytes_total)
        self.scope = scoped_to(viewer.organization_id)
        self.seen: PairSet | None = None
        self.writing = not options.dry_run
        self.approvals_required = True
        self.batches = 0

    # -- reading ---------------------------------------------------------------------

    async def _parser(self, session: AsyncSession, rows: CsvRows) -> RowParser:
        users = {
            email_key: HolderRef(user_id, company_id)
            for email_key, user_id, company_id in await session.execute(select_active_users(None))
        }
        types = {t.name_key: t for t in await session.scalars(select_types())}
        settings = await load_settings(session, self.viewer.organization_id)
        self.approvals_required = settings.approvals_required
        parser = RowParser(self.viewer, rows.header.positions, users, types)
        self.seen = parser.pair_set()
        return parser

    def _missing_columns(self, rows: CsvRows) -> list[Problem]:
        return [
            Problem(
                spec.key,
                ImportErrorCode.MISSING_COLUMN,
                f'The column "{spec.title}" is missing from the header row (see the template).',
            )
            for spec in COLUMNS
            if spec.required and spec.key not in rows.header.positions
        ]

    def _check(self, parser: RowParser, batch: list[tuple[int, list[str]]]) -> list[ParsedRow]:
        assert self.seen is not None, "the parser comes first"
        parsed, failures = parser.check(batch, self.seen)
        for row_number, problems in failures:
            self.report.fail(row_number, problems)
        return parsed

    async def _plan(self, session: AsyncSession, parsed: list[ParsedRow]) -> _Plan:
        plan = _Plan()
        if not parsed:
            return plan
        statement = select_live_latest(
            session.get_bind().dialect.name,
            self.viewer.organization_id,
            [(row[HOLDER].id, row[TYPE_ID]) for row in parsed],
        )
        existing = {
            (holder_id, type_id): (credential_id, number, (issue, expiry, cred_no), external)
            for credential_id, holder_id, type_id, number, issue, expiry, cred_no, external in (
                await session.execute(statement)
            )
        }
        if not existing:  # a first import: the common case of a large file
            plan.creates = parsed
            return plan
        for row in parsed:
            found = existing.get((row[HOLDER].id, row[TYPE_ID]))
            if found is None:
                plan.creates.append(row)
                continue
            credential_id, number, latest, external_id = found
            if (row[ISSUE], row[EXPIRY], row[NUMBER]) == latest:
                plan.unchanged += 1
            else:
                plan.versions.append(
                    (row, credential_id, number + 1, row[EXTERNAL_ID] or external_id)
                )
        return plan

    # -- writing ---------------------------------------------------------------------

    def _statuses(self, rows: list[ParsedRow]) -> tuple[list[str], list[bool]]:
        """The new versions' approval statuses, and whether the importer approved each."""
        if not self.approvals_required:
            return [ApprovalStatus.APPROVED.value] * len(rows), [False] * len(rows)
        if not self.options.approve_all:
            return [ApprovalStatus.PENDING.value] * len(rows), [False] * len(rows)
        reviewed = [policy.can_review(self.viewer, row[HOLDER]) for row in rows]
        approved, pending = ApprovalStatus.APPROVED.value, ApprovalStatus.PENDING.value
        return [approved if done else pending for done in reviewed], reviewed

    async def _write(self, session: AsyncSession, writer: BulkWriter, plan: _Plan) -> None:
        now = self.clock()
        org = self.viewer.organization_id
        creates = plan.creates
        if plan.versions:
            connection = await session.connection()
            await connection.execute(
                update_latest_versions(),
                [
                    {"credential_id": cid, "number": n, "external_id": ext, "now": now}
                    for _, cid, n, ext in plan.versions
                ],
            )
        targets = creates + [row for row, _, _, _ in plan.versions]
        statuses, reviewed = self._statuses(targets)
        if self.sessions.is_sqlite:
            await session.run_sync(prepare_event_writes, org)
        # (PostgreSQL stages the events: published after the commit, see publish_events.)
        await writer.write(
            org,
            self.viewer.user_id,
            now,
            NewCredentials(
                [row[TYPE_ID] for row in creates],
                [row[HOLDER].id for row in creates],
                [row[EXTERNAL_ID] for row in creates],
            ),
            NewVersions(
                [cid for _, cid, _, _ in plan.versions],
                [row[HOLDER].id for row in targets],
                [row[TYPE_ID] for row in targets],
                [1] * len(creates) + [n for _, _, n, _ in plan.versions],
                [row[ISSUE] for row in targets],
                [row[EXPIRY] for row in targets],
                [row[NUMBER] for row in targets],
                statuses,
                reviewed,
            ),
        )

    # -- the run -----------------------------------------------------------------------

    async def _batch(
        self,
        session: AsyncSession,
        writer: BulkWriter | None,
        parser: RowParser,
        batch: list[Any],
    ) -> None:
        # Checked while the last batch's statements run on SQLite's thread; the look-up
        # queues behind them.
        parsed = self._check(parser, batch)
        plan = await self._plan(session, parsed)
        if writer is not None:
            await writer.flush()
        if self.report.failed_count and self.options.error_policy is ErrorPolicy.REJECT_EVERYTHING:
            self.writing = False  # it all rolls back: checking the rest is enough
        if writer is not None and self.writing and (plan.creates or plan.versions):
            await self._write(session, writer, plan)
        self.report.count(len(batch), len(plan.creates), len(plan.versions), plan.unchanged)

    async def _progress(self, rows: CsvRows, save: bool) -> None:
        self.report.bytes_read = rows.bytes_read
        if self.listener is not None:
            self.listener(self.report)
        if self.batch_hook is not None:
            await self.batch_hook(self.report)
        self.batches += 1
        if save and self.batches % PROGRESS_EVERY_BATCHES == 0:
            await save_progress(self.sessions, self.scope, self.report, self.clock())
        await asyncio.sleep(0)  # let the server answer others between batches

    async def run(self, stream: BinaryIO) -> JobReport:
        try:
            rows = CsvRows(stream)
            missing = self._missing_columns(rows)
            if missing:
                self.report.fail(1, missing)
                self.report.file_failed = True
                return self.report
            if self.options.dry_run:
                await self._run_read_only(rows)
                if self.report.failed_count and self._all_or_nothing:
                    self.report.undo_writes()  # as the real import would roll back
            elif self.options.error_policy is ErrorPolicy.REJECT_EVERYTHING:
                await self._run_all_or_nothing(rows)
            else:
                await self._run_per_batch(rows)
        except FileProblem as problem:
            self.report.fail(problem.row, [Problem(None, problem.code, problem.message)])
            self.report.file_failed = True
            if self.options.error_policy is ErrorPolicy.REJECT_EVERYTHING:
                self.report.undo_writes()
        return self.report

    @property
    def _all_or_nothing(self) -> bool:
        return self.options.error_policy is ErrorPolicy.REJECT_EVERYTHING

    async def _run_read_only(self, rows: CsvRows) -> None:
        async with self.sessions.read(self.scope) as session:
            parser = await self._parser(session, rows)
            for batch in _batches(rows):
                await self._batch(session, None, parser, batch)
                await self._progress(rows, save=True)

    async def _run_all_or_nothing(self, rows: CsvRows) -> None:
        # On SQLite the transaction holds the only write lock: progress goes to listeners
        # only until it ends (the job row then gets the final report).
        save = not self.sessions.is_sqlite
        try:
            async with self.sessions.transaction(self.scope) as session:
                parser = await self._parser(session, rows)
                writer = await BulkWriter.open(await session.connection())
                try:
                    for batch in _batches(rows):
                        await self._batch(session, writer, parser, batch)
                        await self._progress(rows, save)
                    await writer.flush()
                finally:
                    await writer.settle()
                if self.report.failed_count:
                    raise _RolledBack()
            await self.publish_events()
        except (_RolledBack, FileProblem) as stop:
            self.report.undo_writes()
            if isinstance(stop, FileProblem):
                raise

    async def _run_per_batch(self, rows: CsvRows) -> None:
        async with self.sessions.read(self.scope) as session:
            parser = await self._parser(session, rows)
        for batch in _batches(rows):
            async with self.sessions.transaction(self.scope) as session:
                writer = await BulkWriter.open(await session.connection())
                try:
                    await self._batch(session, writer, parser, batch)
                    await writer.flush()
                finally:
                    await writer.settle()
            await self.publish_events()
            await self._progress(rows, save=True)

    async def publish_events(self) -> None:
        """The events the import's committed writes staged (PostgreSQL), into the log in
        short transactions: the import never holds the organization's ordering lock.
        Failing here leaves them staged for the next import or start-up to publish;
        the rows are committed, so the import's report stands."""
        try:
            await publish_staged(self.sessions, self.viewer.organization_id)
        except Exception:
            logger.exception("publishing an import's events failed: they stay staged")


async def run_import(
    sessions: Sessions,
    viewer: Viewer,
    job: ImportJob,
    stream: BinaryIO,
    options: ImportOptions,
    clock: Callable[[], datetime],
    listener: ProgressListener | None = None,
    batch_hook: BatchHook | None = None,
) -> JobReport:
    """Imports `stream` for the job `start_job` made, and saves the job's final report.
    An import cancelled or failing unexpectedly is saved as FAILED, then re-raised."""
    work = _Import(sessions, viewer, job, options, clock, listener, batch_hook)
    await work.publish_events()  # what an import of the organization killed mid-publication left
    try:
        report = await work.run(stream)
    except BaseException:
        work.report.interrupted = True
        if options.error_policy is ErrorPolicy.REJECT_EVERYTHING:
            work.report.undo_writes()
        await asyncio.shield(save_report(sessions, work.scope, work.report, options, clock()))
        raise
    await save_report(sessions, work.scope, report, options, clock())
    if listener is not None:
        listener(report)
    return report


__all__ = ["ImportOptions", "ImportStatus", "run_import"]
