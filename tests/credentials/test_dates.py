"""The date rules of services/credentials/dates.py, without a database: proposed expiry
dates, validity on a day, the version that counts and the expiry status on a day."""

from __future__ import annotations

from datetime import date

import pytest

from models.credential import ApprovalStatus, CredentialVersion
from services.credentials.dates import (
    ExpiryStatus,
    add_months,
    effective_version,
    expiry_status,
    is_valid_on,
    version_that_counts,
)

APPROVED = ApprovalStatus.APPROVED
PENDING = ApprovalStatus.PENDING
REJECTED = ApprovalStatus.REJECTED

# A version as a table row: (number, status, issue date, expiry date).
Row = tuple[int, ApprovalStatus, date | None, date | None]


def _version(row: Row) -> CredentialVersion:
    number, status, issued, expires = row
    return CredentialVersion(
        number=number, approval_status=status, issue_date=issued, expiry_date=expires
    )


def _versions(rows: list[Row]) -> list[CredentialVersion]:
    return [_version(row) for row in rows]


def _number(version: CredentialVersion | None) -> int | None:
    return version.number if version is not None else None


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2025, 1, 15), 0, date(2025, 1, 15), id="no months"),
        pytest.param(date(2025, 1, 15), 1, date(2025, 2, 15), id="plain month"),
        pytest.param(date(2025, 1, 31), 1, date(2025, 2, 28), id="31 Jan + 1, common year"),
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="31 Jan + 1, leap year"),
        pytest.param(date(2000, 1, 31), 1, date(2000, 2, 29), id="leap century"),
        pytest.param(date(2100, 1, 31), 1, date(2100, 2, 28), id="century, not leap"),
        pytest.param(date(2024, 2, 29), 12, date(2025, 2, 28), id="29 Feb + 1 year"),
        pytest.param(date(2024, 2, 29), 48, date(2028, 2, 29), id="29 Feb + 4 years"),
        pytest.param(date(2025, 3, 31), 1, date(2025, 4, 30), id="31 Mar + 1"),
        pytest.param(date(2025, 5, 31), 1, date(2025, 6, 30), id="31 May + 1"),
        pytest.param(date(2025, 12, 15), 1, date(2026, 1, 15), id="Dec to Jan"),
        pytest.param(date(2025, 12, 31), 1, date(2026, 1, 31), id="31 Dec + 1"),
        pytest.param(date(2025, 11, 30), 3, date(2026, 2, 28), id="across the year end"),
        pytest.param(date(2025, 8, 31), 18, date(2027, 2, 28), id="18 months"),
        pytest.param(date(2025, 1, 15), 12, date(2026, 1, 15), id="one year"),
        pytest.param(date(2025, 1, 15), 1200, date(2125, 1, 15), id="longest validity"),
        pytest.param(date(2025, 1, 10), -1, date(2024, 12, 10), id="back to December"),
        pytest.param(date(2025, 3, 31), -1, date(2025, 2, 28), id="back, clamped"),
    ],
)
def test_add_months_clamps_to_the_last_day_of_the_month(
    start: date, months: int, expected: date
) -> None:
    # given a start and whole months / when they are added / then
    assert add_months(start, months) == expected


EXPIRES = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("on", "window", "expected"),
    [
        pytest.param(date(2025, 1, 1), 30, ExpiryStatus.VALID, id="long before"),
        pytest.param(date(2026, 5, 30), 30, ExpiryStatus.VALID, id="a day before the window"),
        pytest.param(date(2026, 5, 31), 30, ExpiryStatus.EXPIRING_SOON, id="window days before"),
        pytest.param(date(2026, 6, 29), 30, ExpiryStatus.EXPIRING_SOON, id="the day before"),
        pytest.param(EXPIRES, 30, ExpiryStatus.EXPIRING_SOON, id="the expiry date itself"),
        pytest.param(date(2026, 7, 1), 30, ExpiryStatus.EXPIRED, id="the day after"),
        pytest.param(date(2030, 1, 1), 30, ExpiryStatus.EXPIRED, id="long after"),
        pytest.param(date(2026, 6, 29), 0, ExpiryStatus.VALID, id="no window: the day before"),
        pytest.param(EXPIRES, 0, ExpiryStatus.EXPIRING_SOON, id="no window: the expiry date"),
        pytest.param(date(2026, 7, 1), 0, ExpiryStatus.EXPIRED, id="no window: the day after"),
        pytest.param(date(2025, 6, 30), 365, ExpiryStatus.EXPIRING_SOON, id="a year's window"),
        pytest.param(date(2025, 6, 29), 365, ExpiryStatus.VALID, id="before a year's window"),
    ],
)
def test_expiry_status_on_a_day(on: date, window: int, expected: ExpiryStatus) -> None:
    # given an approved version that expires at the end of June 2026
    version = _version((1, APPROVED, date(2023, 6, 30), EXPIRES))
    # when its status is asked for on a day / then
    assert expiry_status(version, on, window) is expected


@pytest.mark.parametrize("status", list(ApprovalStatus))
@pytest.mark.parametrize("on", [date(1990, 1, 1), date(2026, 6, 30), date(2999, 12, 31)])
def test_a_version_without_an_expiry_date_never_expires(status: ApprovalStatus, on: date) -> None:
    # given a version without an expiry date, in any approval status
    version = _version((1, status, date(2020, 1, 1), None))
    # when its status is asked for on any day / then
    assert expiry_status(version, on, 30) is ExpiryStatus.NO_EXPIRY


def test_no_version_has_no_status() -> None:
    # given no version / when the status is asked for / then there is none
    assert expiry_status(None, date(2026, 1, 1), 30) is None


@pytest.mark.parametrize(
    ("row", "on", "expected"),
    [
        pytest.param(
            (1, APPROVED, date(2026, 1, 15), EXPIRES), date(2026, 3, 1), True, id="inside"
        ),
        pytest.param(
            (1, APPROVED, date(2026, 1, 15), EXPIRES), date(2026, 1, 15), True, id="issued"
        ),
        pytest.param((1, APPROVED, date(2026, 1, 15), EXPIRES), EXPIRES, True, id="last day"),
        pytest.param(
            (1, APPROVED, date(2026, 1, 15), EXPIRES), date(2026, 7, 1), False, id="expired"
        ),
        pytest.param(
            (1, APPROVED, date(2026, 1, 15), EXPIRES), date(2026, 1, 14), False, id="not yet issued"
        ),
        pytest.param((1, APPROVED, None, None), date(1990, 1, 1), True, id="no dates"),
        pytest.param((1, APPROVED, None, EXPIRES), date(1990, 1, 1), True, id="no issue date"),
        pytest.param(
            (1, PENDING, date(2026, 1, 15), EXPIRES), date(2026, 3, 1), False, id="pending"
        ),
        pytest.param(
            (1, REJECTED, date(2026, 1, 15), EXPIRES), date(2026, 3, 1), False, id="rejected"
        ),
    ],
)
def test_a_version_is_valid_when_approved_and_within_its_dates(
    row: Row, on: date, expected: bool
) -> None:
    # given a version / when its validity on a day is asked for / then
    assert is_valid_on(_version(row), on) is expected


FIRST = (1, APPROVED, date(2023, 1, 1), date(2025, 12, 31))
RENEWAL_PENDING = (2, PENDING, date(2025, 12, 1), date(2028, 12, 31))
RENEWAL_APPROVED = (2, APPROVED, date(2025, 12, 1), date(2028, 12, 31))
RENEWAL_REJECTED = (2, REJECTED, date(2025, 12, 1), date(2028, 12, 31))
# A renewal issued after a gap: nothing is valid in January 2026.
LATE_RENEWAL = (2, APPROVED, date(2026, 2, 1), date(2029, 1, 31))


@pytest.mark.parametrize(
    ("rows", "on", "effective", "counts"),
    [
        pytest.param([], date(2025, 6, 1), None, None, id="no versions"),
        pytest.param([FIRST], date(2025, 6, 1), 1, 1, id="one valid version"),
        pytest.param([FIRST], date(2026, 1, 1), None, 1, id="one expired version"),
        pytest.param([FIRST], date(2022, 12, 31), None, 1, id="before its issue date"),
        pytest.param(
            [FIRST, RENEWAL_PENDING], date(2025, 12, 15), 1, 1, id="a pending renewal hides nothing"
        ),
        pytest.param(
            [FIRST, RENEWAL_REJECTED], date(2025, 12, 15), 1, 1, id="a rejected renewal neither"
        ),
        pytest.param(
            [FIRST, RENEWAL_PENDING],
            date(2026, 1, 1),
            None,
            1,
            id="a pending renewal does not count once the approved one expired",
        ),
        pytest.param(
            [FIRST, RENEWAL_APPROVED], date(2025, 12, 15), 2, 2, id="an approved renewal wins"
        ),
        pytest.param(
            [FIRST, RENEWAL_APPROVED], date(2025, 11, 30), 1, 1, id="the renewal not issued yet"
        ),
        pytest.param(
            [RENEWAL_APPROVED, FIRST], date(2025, 12, 15), 2, 2, id="list order does not matter"
        ),
        pytest.param(
            [FIRST, LATE_RENEWAL],
            date(2026, 1, 15),
            None,
            1,
            id="a gap: the approved one in force before it",
        ),
        pytest.param(
            [FIRST, LATE_RENEWAL], date(2026, 2, 1), 2, 2, id="after the gap: the renewal"
        ),
        pytest.param(
            [(1, REJECTED, None, None), (2, PENDING, None, None)],
            date(2026, 1, 1),
            None,
            2,
            id="nothing approved: the latest",
        ),
        pytest.param(
            [(2, PENDING, None, None), (1, REJECTED, None, None)],
            date(2026, 1, 1),
            None,
            2,
            id="nothing approved, any list order: the latest",
        ),
        pytest.param(
            [
                (1, APPROVED, None, date(2024, 1, 1)),
                (2, APPROVED, None, date(2025, 1, 1)),
                (3, PENDING, None, None),
            ],
            date(2026, 1, 1),
            None,
            2,
            id="all approved ones expired: the latest approved, not the pending one",
        ),
    ],
)
def test_the_effective_version_and_the_version_that_counts(
    rows: list[Row], on: date, effective: int | None, counts: int | None
) -> None:
    # given a credential's versions
    versions = _versions(rows)
    # when the effective version and the one that counts are asked for on a day / then
    assert _number(effective_version(versions, on)) == effective
    assert _number(version_that_counts(versions, on)) == counts
