"""The counts a dashboard shows above the list, by one aggregate statement."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, case, func, select, true

from models.credential import ApprovalStatus, Credential, ExpiryStatus
from models.credential_filter import (
    LATEST,
    ArchivedFilter,
    ExpiryWindow,
    counting_expiry_codes,
    expiry_status_of_code,
    listed,
)
from models.user import User

# Column names of each row of select_overview, after type_id and company_id.
COUNT_COLUMNS = (
    "total",
    "pending_approval",
    "valid",
    "expiring_soon",
    "expired",
    "no_expiry",
    "archived",
)


def select_overview(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    archived: ArchivedFilter,
    window: ExpiryWindow,
) -> Select[int, int | None, int, int, int, int, int, int, int]:
    """One row per (type, holder's company) with the counts of COUNT_COLUMNS.

    `conditions` are the filter's except the archived one: `archived` decides which rows
    the status counts include, while the archived count is of every archived credential
    that matches the rest of the filter ("12 more archived")."""
    counting = counting_expiry_codes(window.on)
    rows = (
        listed(
            Credential.type_id.label("type_id"),
            User.company_id.label("company_id"),
            case((Credential.archived_at.is_(None), 0), else_=1).label("is_archived"),
            LATEST.approval_status.label("approval_status"),
            expiry_status_of_code(counting.c.code, window).label("expiry_status"),
        )
        .join(counting, counting.c.credential_id == Credential.id)
        .where(holder_visibility, *conditions)
        .subquery("overview_rows")
    )
    is_archived = rows.c.is_archived == 1
    included: ColumnElement[bool] = {
        ArchivedFilter.EXCLUDE: ~is_archived,
        ArchivedFilter.ONLY: is_archived,
        ArchivedFilter.INCLUDE: true(),
    }[archived]

    def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def status(value: ExpiryStatus) -> ColumnElement[bool]:
        return and_(included, rows.c.expiry_status == value.value)

    statement = select(
        rows.c.type_id,
        rows.c.company_id,
        count_where(included).label("total"),
        count_where(and_(included, rows.c.approval_status == ApprovalStatus.PENDING)).label(
            "pending_approval"
        ),
        count_where(status(ExpiryStatus.VALID)).label("valid"),
        count_where(status(ExpiryStatus.EXPIRING_SOON)).label("expiring_soon"),
        count_where(status(ExpiryStatus.EXPIRED)).label("expired"),
        count_where(status(ExpiryStatus.NO_EXPIRY)).label("no_expiry"),
        count_where(is_archived).label("archived"),
    ).group_by(rows.c.type_id, rows.c.company_id)
    return statement
