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
and the audit trail see imported credentials as any others. No notifications: holders
are not told about a register being loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, BinaryIO, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import ApprovalStatus
from models.credential_bulk import (
    CREDENTIALS_TABLE,
    EVENTS_TABLE,
    VERSIONS_TABLE,
    insert_many,
    reserve_ids,
    select_active_users,
    select_live_latest,
    select_types,
    update_latest_versions,
)
from models.event import CredentialEventKind, prepare_event_writes
from models.import_job import ErrorPolicy, ImportJob, ImportStatus
from models.tenancy import scoped_to
from services.credentials import policy
from services.credentials.settings import load_settings
from services.csv_io.columns import COLUMNS, Column
from services.csv_io.errors import ImportErrorCode
from services.csv_io.jobs import JobReport, save_progress, save_report
from services.csv_io.reader import CsvRows, FileProblem
from services.csv_io.rows import HolderRef, ParsedRow, Problem, RowParser
from services.viewer import Viewer

BATCH_SIZE = 2_000
# Batches between progress saves to the job row (its own short transaction).
PROGRESS_EVERY_BATCHES = 10


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
    ) -> None:
        self.sessions = sessions
        self.viewer = viewer
        self.options = options
        self.clock = clock
        self.listener = listener
        self.report = JobReport(job_id=job.id, bytes_total=job.bytes_total)
        self.scope = scoped_to(viewer.organization_id)
        self.seen: set[int] = set()
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
        return RowParser(self.viewer, rows.header.positions, users, types)

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
        parsed: list[ParsedRow] = []
        for row_number, cells in batch:
            result = parser.parse(row_number, cells)
            if isinstance(result, list):
                self.report.fail(row_number, result)
                continue
            key = (result.holder.id << 32) | result.type_id
            if key in self.seen:
                self.report.fail(
                    row_number,
                    [
                        Problem(
                            Column.CREDENTIAL_TYPE,
                            ImportErrorCode.DUPLICATE_ROW,
                            "This holder and credential type are on an earlier row of the "
                            "file too: keep one row per holder and type.",
                        )
                    ],
                )
                continue
            self.seen.add(key)
            parsed.append(result)
        return parsed

    async def _plan(self, session: AsyncSession, parsed: list[ParsedRow]) -> _Plan:
        plan = _Plan()
        if not parsed:
            return plan
        holder_ids = {row.holder.id for row in parsed}
        type_ids = {row.type_id for row in parsed}
        existing = {
            (holder_id, type_id): (credential_id, number, (issue, expiry, cred_no), external)
            for credential_id, holder_id, type_id, number, issue, expiry, cred_no, external in (
                await session.execute(select_live_latest(holder_ids, type_ids))
            )
        }
        for row in parsed:
            found = existing.get((row.holder.id, row.type_id))
            if found is None:
                plan.creates.append(row)
                continue
            credential_id, number, latest, external_id = found
            details = row.details
            if (details.issue_date, details.expiry_date, details.credential_number) == latest:
                plan.unchanged += 1
            else:
                plan.versions.append(
                    (row, credential_id, number + 1, row.external_id or external_id)
                )
        return plan

    # -- writing ---------------------------------------------------------------------

    def _status(self, holder: HolderRef) -> tuple[ApprovalStatus, bool]:
        """The new version's status, and whether it was approved by the importer."""
        if not self.approvals_required:
            return ApprovalStatus.APPROVED, False
        if self.options.approve_all and policy.can_review(self.viewer, holder):
            return ApprovalStatus.APPROVED, True
        return ApprovalStatus.PENDING, False

    async def _write(self, session: AsyncSession, plan: _Plan) -> None:
        now = self.clock()
        org = self.viewer.organization_id
        actor = self.viewer.user_id
        connection = await session.connection()
        created_ids = await reserve_ids(connection, CREDENTIALS_TABLE, len(plan.creates))
        if plan.creates:
            await insert_many(
                connection,
                CREDENTIALS_TABLE,
                [
                    {
                        "id": credential_id,
                        "organization_id": org,
                        "type_id": row.type_id,
                        "holder_id": row.holder.id,
                        "latest_version_number": 1,
                        "revision": 1,
                        "external_id": row.external_id,
                        "created_by_id": actor,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for row, credential_id in zip(plan.creates, created_ids, strict=True)
                ],
            )
        if plan.versions:
            await connection.execute(
                update_latest_versions(),
                [
                    {"credential_id": cid, "number": n, "external_id": ext, "now": now}
                    for _, cid, n, ext in plan.versions
                ],
            )
        targets = [(row, cid, 1) for row, cid in zip(plan.creates, created_ids, strict=True)] + [
            (row, cid, n) for row, cid, n, _ in plan.versions
        ]
        version_ids = await reserve_ids(connection, VERSIONS_TABLE, len(targets))
        version_rows = []
        approved_by_importer = []
        for (row, credential_id, number), version_id in zip(targets, version_ids, strict=True):
            status, approved = self._status(row.holder)
            approved_by_importer.append(approved)
            version_rows.append(
                {
                    "id": version_id,
                    "organization_id": org,
                    "credential_id": credential_id,
                    "number": number,
                    "issue_date": row.details.issue_date,
                    "expiry_date": row.details.expiry_date,
                    "credential_number": row.details.credential_number,
                    "approval_status": status,
                    "reviewed_by_id": actor if approved else None,
                    "reviewed_at": now if approved else None,
                    "submitted_by_id": actor,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await insert_many(connection, VERSIONS_TABLE, version_rows)
        events: list[dict[str, Any]] = []
        for (row, credential_id, number), version_id, approved in zip(
            targets, version_ids, approved_by_importer, strict=True
        ):
            kind = (
                CredentialEventKind.SUBMITTED if number == 1 else CredentialEventKind.VERSION_ADDED
            )
            kinds = [kind, CredentialEventKind.APPROVED] if approved else [kind]
            events.extend(
                {
                    "organization_id": org,
                    "kind": event_kind,
                    "credential_id": credential_id,
                    "version_id": version_id,
                    "holder_id": row.holder.id,
                    "type_id": row.type_id,
                    "actor_id": actor,
                    "occurred_at": now,
                    "data": {},
                }
                for event_kind in kinds
            )
        await session.run_sync(prepare_event_writes, org)
        await insert_many(connection, EVENTS_TABLE, events)

    # -- the run -----------------------------------------------------------------------

    async def _batch(self, session: AsyncSession, parser: RowParser, batch: list[Any]) -> None:
        parsed = self._check(parser, batch)
        plan = await self._plan(session, parsed)
        if self.report.failed_count and self.options.error_policy is ErrorPolicy.REJECT_EVERYTHING:
            self.writing = False  # it all rolls back: checking the rest is enough
        if self.writing and (plan.creates or plan.versions):
            await self._write(session, plan)
        self.report.count(len(batch), len(plan.creates), len(plan.versions), plan.unchanged)

    async def _progress(self, rows: CsvRows, save: bool) -> None:
        self.report.bytes_read = rows.bytes_read
        if self.listener is not None:
            self.listener(self.report)
        self.batches += 1
        if save and self.batches % PROGRESS_EVERY_BATCHES == 0:
            await save_progress(self.sessions, self.scope, self.report)
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
                await self._batch(session, parser, batch)
                await self._progress(rows, save=True)

    async def _run_all_or_nothing(self, rows: CsvRows) -> None:
        # On SQLite the transaction holds the only write lock: progress goes to listeners
        # only until it ends (the job row then gets the final report).
        save = not self.sessions.is_sqlite
        try:
            async with self.sessions.transaction(self.scope) as session:
                parser = await self._parser(session, rows)
                for batch in _batches(rows):
                    await self._batch(session, parser, batch)
                    await self._progress(rows, save)
                if self.report.failed_count:
                    raise _RolledBack()
        except (_RolledBack, FileProblem) as stop:
            self.report.undo_writes()
            if isinstance(stop, FileProblem):
                raise

    async def _run_per_batch(self, rows: CsvRows) -> None:
        async with self.sessions.read(self.scope) as session:
            parser = await self._parser(session, rows)
        for batch in _batches(rows):
            async with self.sessions.transaction(self.scope) as session:
                await self._batch(session, parser, batch)
            await self._progress(rows, save=True)


async def run_import(
    sessions: Sessions,
    viewer: Viewer,
    job: ImportJob,
    stream: BinaryIO,
    options: ImportOptions,
    clock: Callable[[], datetime],
    listener: ProgressListener | None = None,
) -> JobReport:
    """Imports `stream` for the job `start_job` made, and saves the job's final report.
    An import cancelled or failing unexpectedly is saved as FAILED, then re-raised."""
    work = _Import(sessions, viewer, job, options, clock, listener)
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
