"""CSV import jobs and the problems found in their rows.

A job row is written in transactions of its own, apart from the data it imports: a
rejected or interrupted import rolls its data back and still leaves its report.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Enum,
    ForeignKey,
    Index,
    Insert,
    Select,
    String,
    Text,
    Update,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow


class ImportStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"
    FAILED = "FAILED"


class ErrorPolicy(StrEnum):
    REJECT_EVERYTHING = "REJECT_EVERYTHING"
    SKIP_FAILED_ROWS = "SKIP_FAILED_ROWS"


def _enum_column(enum: type[StrEnum]) -> Mapped[Any]:
    return mapped_column(Enum(enum, native_enum=False, length=24))


class ImportJob(TenantOwned, Base):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(String(255))
    dry_run: Mapped[bool]
    approve_all: Mapped[bool]
    error_policy: Mapped[ErrorPolicy] = _enum_column(ErrorPolicy)
    status: Mapped[ImportStatus] = _enum_column(ImportStatus)
    rows_read: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    versioned_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    # Row problems beyond what is stored (see MAX_STORED_RESULTS in the engine).
    results_truncated: Mapped[bool] = mapped_column(default=False)
    bytes_total: Mapped[int] = mapped_column(default=0)
    bytes_read: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The process running the job and when it last said so: a RUNNING job whose process
    # is gone was killed (services.csv_io.liveness).
    runner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]


class ImportRowResult(TenantOwned, Base):
    """One problem of one row (row 1 is the header): its column, code and message."""

    __tablename__ = "import_row_results"
    __table_args__ = (Index("ix_import_row_results_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    column: Mapped[str | None] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)


def select_job(job_id: int) -> Select[ImportJob]:
    return select(ImportJob).where(ImportJob.id == job_id)


def select_running_jobs() -> Select[ImportJob]:
    return select(ImportJob).where(ImportJob.status == ImportStatus.RUNNING).order_by(ImportJob.id)


def select_results(job_id: int, limit: int, after_id: int = 0) -> Select[ImportRowResult]:
    return (
        select(ImportRowResult)
        .where(ImportRowResult.job_id == job_id, ImportRowResult.id > after_id)
        .order_by(ImportRowResult.id)
        .limit(limit)
    )


def insert_results() -> Insert:
    """Executed with a list of parameter dicts (executemany)."""
    return insert(ImportRowResult.__table__)  # type: ignore[arg-type]


def update_job_progress(job_id: int, values: dict[str, Any]) -> Update:
    return update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id).values(**values)  # type: ignore[arg-type]
