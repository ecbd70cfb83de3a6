"""The counts a dashboard shows above the list, by one aggregate statement.

They read each credential's summary (models.credential: its latest version's status and
the expiry date that counts from some day on, kept by triggers) instead of its versions:
one pass over an index of the holders' credentials, holders looked up by key. Only
credentials whose summary does not settle the day (several approved versions, a day
before the latest approved one was issued) have their versions ranked, one subquery each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, func, literal, select

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
        select(*columns, User.company_id.label("company_id"))
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


_ARCHIVED = 8  # added to the code of an archived credential's row
_CODES = 16  # codes are below it


@dataclass(frozen=True)
class CodeMeaning:
    archived: bool
    status: ExpiryStatus | None  # None: not included by the filter's archived setting
    pending: bool


def meaning_of(code: int, archived: ArchivedFilter) -> CodeMeaning:
    """What a row of select_overview counts."""
    is_archived = code >= _ARCHIVED
    included = {
        ArchivedFilter.EXCLUDE: not is_archived,
        ArchivedFilter.ONLY: is_archived,
        ArchivedFilter.INCLUDE: True,
    }[archived]
    rest = code % _ARCHIVED
    status = STATUS_OF_CODE[rest // 2] if included else None
    return CodeMeaning(archived=is_archived, status=status, pending=included and rest % 2 == 1)


def select_overview(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    archived: ArchivedFilter,
    window: ExpiryWindow,
    *,
    join_latest_version: bool = False,
) -> Select[Any]:
    """Rows of (type_and_code, company_id, credentials), type_and_code_of giving the type
    and a code: how many credentials share a code (meaning_of), which says whether they
    are archived and, for those the filter's archived setting includes, their status and
    whether their latest version is pending. One pass:
    the archived count is of every archived credential matching the rest of the filter
    ("12 more archived"), whatever that setting.

    `conditions` are the filter's except the archived one. `join_latest_version` when a
    condition names LATEST."""
    pending = case((Credential.latest_approval_status == ApprovalStatus.PENDING, 1), else_=0)
    status_code = counted_expiry_status(window, STATUS_CODES) * 2 + pending
    live = Credential.archived_at.is_(None)
    code: ColumnElement[Any]
    if archived is ArchivedFilter.EXCLUDE:  # archived ones only counted, not judged
        code = case((live, status_code), else_=_ARCHIVED)
    elif archived is ArchivedFilter.ONLY:
        code, conditions = status_code + _ARCHIVED, [*conditions, ~live]
    else:
        code = status_code + case((live, 0), else_=_ARCHIVED)
    # The type and the code make one key: SQLite's grouping costs per key column.
    type_and_code = Credential.type_id * literal(_CODES, BigInteger) + code
    rows = _credentials(
        [type_and_code.label("type_and_code")], holder_visibility, conditions, join_latest_version
    ).subquery("overview_rows")
    keys = (rows.c.type_and_code, rows.c.company_id)
    return select(*keys, func.count().label("credentials")).group_by(*keys)


def type_and_code_of(key: int) -> tuple[int, int]:
    """(type id, code) of a row's first column."""
    return key // _CODES, key % _CODES
