"""Checks of the credentials' summaries (models.credential: latest_approval_status,
counting_from, counting_expiry_date), which triggers keep from the versions.

Two checks per credential: the summary is what the rule of migration 0007 gives for its
versions (stated again here in Python), and, what the rule is for, on every day from
counting_from on the version that counts (services.credentials.dates) has that expiry
date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from sqlalchemy import select

from models.credential import ApprovalStatus, Credential, CredentialVersion
from models.tenancy import scoped_to
from server.database import Database
from services.credentials.dates import version_that_counts

EVERY_DAY = date.min
Summary = tuple[ApprovalStatus | None, date | None, date | None]


def expected_summary(versions: Sequence[CredentialVersion]) -> Summary:
    """(latest approval status, counting_from, counting_expiry_date) of the versions."""
    if not versions:
        return None, None, None
    latest = max(versions, key=lambda v: v.number)
    approved = sorted(
        (v for v in versions if v.approval_status is ApprovalStatus.APPROVED),
        key=lambda v: v.number,
    )
    if not approved:
        return latest.approval_status, EVERY_DAY, latest.expiry_date
    last = approved[-1]
    if len(approved) == 1:
        return latest.approval_status, EVERY_DAY, last.expiry_date
    outlasting = [
        v
        for v in approved[:-1]
        if last.expiry_date is not None
        and (v.expiry_date is None or v.expiry_date > last.expiry_date)
    ]
    if outlasting:
        return latest.approval_status, None, last.expiry_date
    return latest.approval_status, last.issue_date or EVERY_DAY, last.expiry_date


def days_around(versions: Iterable[CredentialVersion]) -> set[date]:
    """Each version's dates, the days either side, and the ends of the calendar."""
    days = {date.min, date.max}
    for version in versions:
        for day in (version.issue_date, version.expiry_date):
            for shift in (-1, 0, 1):
                if day is not None and date.min + timedelta(1) <= day <= date.max - timedelta(1):
                    days.add(day + timedelta(days=shift))
    return days


async def load_histories(
    database: Database, organization_id: int
) -> dict[int, tuple[Summary, list[CredentialVersion]]]:
    """Each credential's stored summary and its versions."""
    async with database.read(scoped_to(organization_id)) as session:
        summaries = {
            row[0]: (row[1], row[2], row[3])
            for row in await session.execute(
                select(
                    Credential.id,
                    Credential.latest_approval_status,
                    Credential.counting_from,
                    Credential.counting_expiry_date,
                )
            )
        }
        versions: dict[int, list[CredentialVersion]] = defaultdict(list)
        for version in await session.scalars(select(CredentialVersion)):
            versions[version.credential_id].append(version)
    return {key: (summary, versions[key]) for key, summary in summaries.items()}


async def assert_summaries_hold(database: Database, organization_id: int) -> int:
    """Checks every credential of the organization; returns how many there are."""
    histories = await load_histories(database, organization_id)
    for credential_id, (stored, versions) in histories.items():
        assert stored == expected_summary(versions), (credential_id, versions_of(versions))
        _, counting_from, counting_expiry = stored
        if counting_from is None:
            continue
        for day in days_around(versions):
            if day >= counting_from:
                counts = version_that_counts(versions, day)
                assert counts is not None
                assert counts.expiry_date == counting_expiry, (
                    credential_id,
                    day,
                    versions_of(versions),
                )
    return len(histories)


def versions_of(versions: Iterable[CredentialVersion]) -> list[tuple[object, ...]]:
    """Versions as tuples, for assertion messages."""
    return [
        (v.number, v.approval_status.value, v.issue_date, v.expiry_date)
        for v in sorted(versions, key=lambda v: v.number)
    ]
