"""Date rules: proposed expiry dates, the effective version and expiry status on a date."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Protocol, TypeVar

from models.credential import ApprovalStatus, CredentialVersion
from models.credential import ExpiryStatus as ExpiryStatus  # re-exported: the rules are here


class DatedVersion(Protocol):
    """What the rules read of a version: a CredentialVersion, or the same facts loaded as
    plain values (compliance reports judge thousands at once)."""

    @property
    def number(self) -> int: ...
    @property
    def approval_status(self) -> ApprovalStatus: ...
    @property
    def issue_date(self) -> date | None: ...
    @property
    def expiry_date(self) -> date | None: ...


V = TypeVar("V", bound=DatedVersion)


def add_months(start: date, months: int) -> date:
    """`start` plus whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_valid_on(version: DatedVersion, on: date) -> bool:
    """Approved, issued by `on`, and not past its expiry date (which is its last valid day)."""
    return (
        version.approval_status is ApprovalStatus.APPROVED
        and (version.issue_date is None or version.issue_date <= on)
        and (version.expiry_date is None or on <= version.expiry_date)
    )


def effective_version(versions: Sequence[V], on: date) -> V | None:
    """The latest approved version valid on `on`: a pending renewal never hides it."""
    valid = [v for v in versions if is_valid_on(v, on)]
    return max(valid, key=lambda v: v.number) if valid else None


def version_that_counts(versions: Sequence[V], on: date) -> V | None:
    """The version whose dates describe the credential on `on`: the effective version;
    failing that the latest approved one already issued (a lapsed credential reads
    EXPIRED until its renewal is issued); then any approved one; then the latest."""
    if not versions:
        return None
    effective = effective_version(versions, on)
    if effective is not None:
        return effective
    approved = [v for v in versions if v.approval_status is ApprovalStatus.APPROVED]
    issued = [v for v in approved if v.issue_date is None or v.issue_date <= on]
    return max(issued or approved or versions, key=lambda v: v.number)


def expiry_status(
    version: CredentialVersion | None, on: date, expiring_soon_days: int
) -> ExpiryStatus | None:
    """The status of one version's dates as of `on`; None without a version."""
    if version is None:
        return None
    return expiry_status_of(version.expiry_date, on, expiring_soon_days)


def expiry_status_of(expiry_date: date | None, on: date, expiring_soon_days: int) -> ExpiryStatus:
    """The status of an expiry date as of `on` (valid through the expiry date itself)."""
    if expiry_date is None:
        return ExpiryStatus.NO_EXPIRY
    if on > expiry_date:
        return ExpiryStatus.EXPIRED
    if expiry_date - on <= timedelta(days=expiring_soon_days):
        return ExpiryStatus.EXPIRING_SOON
    return ExpiryStatus.VALID
