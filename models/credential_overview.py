"""The counts a dashboard shows above the list, by one aggregate statement.

It reads each credential's summary (models.credential: its latest version's status and
the expiry date that counts from some day on, kept by triggers) instead of its versions:
one pass over the credentials, holders looked up by key. Only credentials whose summary
does not tell for the day (several approved versions, a day before the latest approved
one was issued) have their versions ranked, one subquery each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select

from models.credential import ApprovalStatus, Credential
from models.credential_filter import (
    LATEST,
    ArchivedFilter,
    ExpiryWindow,
    counted_expiry_status,
)
from models.user import User


def select_overview(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    archived: ArchivedFilter,
    window: ExpiryWindow,
    *,
    join_latest_version: bool = False,
) -> Select[Any]:
    """Rows of (type_id, company_id, is_archived, is_pending, expiry_status, credentials):
    how many credentials have each combination. Few rows (types x companies x a handful),
    summed by the caller; grouping by the status rather than summing a condition per
    status computes it once per credential.

    `conditions` are the filter's except the archived one: `archived` decides which rows
    the status counts include (the caller's business), while the archived count is of
    every archived credential matching the rest of the filter ("12 more archived"); the
    status of an archived row is left out unless they are included.
    `join_latest_version` when a condition names LATEST."""
    is_archived = Credential.archived_at.is_not(None)
    status_wanted = {
        ArchivedFilter.EXCLUDE: ~is_archived,
        ArchivedFilter.ONLY: is_archived,
        ArchivedFilter.INCLUDE: None,
    }[archived]
    status = counted_expiry_status(window)
    rows = select(
        Credential.type_id.label("type_id"),
        User.company_id.label("company_id"),
        case((is_archived, 1), else_=0).label("is_archived"),
        case((Credential.latest_approval_status == ApprovalStatus.PENDING, 1), else_=0).label(
            "is_pending"
        ),
        (status if status_wanted is None else case((status_wanted, status))).label("expiry_status"),
    ).join(User, User.id == Credential.holder_id)
    if join_latest_version:
        rows = rows.join(
            LATEST,
            and_(
                LATEST.credential_id == Credential.id,
                LATEST.number == Credential.latest_version_number,
            ),
        )
    listed = rows.where(holder_visibility, *conditions).subquery("overview_rows")
    keys = (
        listed.c.type_id,
        listed.c.company_id,
        listed.c.is_archived,
        listed.c.is_pending,
        listed.c.expiry_status,
    )
    return select(*keys, func.count().label("credentials")).group_by(*keys)
