"""The counts a dashboard shows above the list, by two aggregate statements.

They read each credential's summary (models.credential: its latest version's status and
the expiry date that counts from some day on, kept by triggers) instead of its versions:
one pass over an index of the holders' credentials, holders looked up by key. Only
credentials whose summary does not settle the day (several approved versions, a day
before the latest approved one was issued) have their versions ranked, one subquery each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select

from models.credential import ApprovalStatus, Credential, ExpiryStatus
from models.credential_filter import LATEST, ArchivedFilter, ExpiryWindow, counted_expiry_status
from models.user import User

# A small integer per status: grouping by one integer costs SQLite far less than by
# several text columns, and the statement is a pass over every credential.
STATUS_CODES: dict[ExpiryStatus, Any] = {
    ExpiryStatus.VALID: 0,
    ExpiryStatus.EXPIRING_SOON: 1,
    ExpiryStatus.EXPIRED: 2,
    ExpiryStatus.NO_EXPIRY: 3,
}
STATUS_OF_CODE = {code: status for status, code in STATUS_CODES.items()}


def _credentials(
    columns: Sequence[ColumnElement[Any]],
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    join_latest_version: bool,
) -> Select[Any]:
    statement = (
        select(Credential.type_id.label("type_id"), User.company_id.label("company_id"), *columns)
        .join(User, User.id == Credential.holder_id)
        .where(holder_visibility, *conditions)
    )
    if join_latest_version:
        statement = statement.join(
            LATEST,
            and_(
                LATEST.credential_id == Credential.id,
                LATEST.number == Credential.latest_version_number,
            ),
        )
    return statement


def select_overview_statuses(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    archived: ArchivedFilter,
    window: ExpiryWindow,
    *,
    join_latest_version: bool = False,
) -> Select[Any]:
    """Rows of (type_id, company_id, code, credentials): how many of the credentials the
    filter includes have each status and pending state, code being
    STATUS_CODES[status] * 2 + (1 if the latest version is pending approval).

    `conditions` are the filter's except the archived one, which `archived` states.
    `join_latest_version` when a condition names LATEST."""
    pending = case((Credential.latest_approval_status == ApprovalStatus.PENDING, 1), else_=0)
    code = counted_expiry_status(window, STATUS_CODES) * 2 + pending
    included = {
        ArchivedFilter.EXCLUDE: [Credential.archived_at.is_(None)],
        ArchivedFilter.ONLY: [Credential.archived_at.is_not(None)],
        ArchivedFilter.INCLUDE: [],
    }[archived]
    rows = _credentials(
        [code.label("code")], holder_visibility, [*conditions, *included], join_latest_version
    ).subquery("overview_rows")
    keys = (rows.c.type_id, rows.c.company_id, rows.c.code)
    return select(*keys, func.count().label("credentials")).group_by(*keys)


def select_overview_archived(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    *,
    join_latest_version: bool = False,
) -> Select[Any]:
    """Rows of (type_id, company_id, credentials): the archived credentials matching the
    filter's other conditions, whatever its archived setting ("12 more archived")."""
    archived = Credential.archived_at.is_not(None)
    rows = _credentials(
        [], holder_visibility, [*conditions, archived], join_latest_version
    ).subquery("archived_rows")
    keys = (rows.c.type_id, rows.c.company_id)
    return select(*keys, func.count().label("credentials")).group_by(*keys)
