"""Whether people meet their job role's requirements on a day, and what is missing.

A requirement group is met on a day by an approved version, valid that day, of an
unarchived credential of any one of its types (the credential's effective version). A
group not yet in effect on the day does not count. The day may be in the future: "will
this crew be compliant on the day the job starts?"
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import ApprovalStatus
from models.job_role import (
    JobRoleRequirement,
    select_held_versions,
    select_requirement_types_of,
    select_requirements_of,
)
from services.credentials import dates


class OptionStatus(Enum):
    """Where one type of a group stands for a person, best first."""

    MET = "MET"
    EXPIRING = "EXPIRING"  # met, but lapses within the expiring-soon window
    PENDING = "PENDING"  # the latest version waits for approval
    REJECTED = "REJECTED"  # the latest version was rejected
    EXPIRED = "EXPIRED"  # approved, but lapsed by the day
    NOT_YET_VALID = "NOT_YET_VALID"  # approved, but issued after the day
    MISSING = "MISSING"  # no unarchived credential of the type


class GroupStatus(Enum):
    MET = "MET"
    EXPIRING = "EXPIRING"  # met only by credentials that lapse soon
    NOT_MET = "NOT_MET"
    NOT_YET_EFFECTIVE = "NOT_YET_EFFECTIVE"  # takes effect after the day: does not count


_MET = (OptionStatus.MET, OptionStatus.EXPIRING)


@dataclass(frozen=True)
class Group:
    requirement: JobRoleRequirement
    type_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class HeldVersion:
    """What compliance reads of a version (services.credentials.dates.DatedVersion)."""

    id: int
    number: int
    approval_status: ApprovalStatus
    issue_date: date | None
    expiry_date: date | None


@dataclass(frozen=True, slots=True)
class Held:
    """A person's unarchived credential of a type, with its versions."""

    credential_id: int
    versions: list[HeldVersion]


@dataclass(frozen=True, slots=True)
class Option:
    type_id: int
    status: OptionStatus
    credential_id: int | None
    version_id: int | None  # the version the status is about


@dataclass(frozen=True)
class GroupResult:
    group: Group
    status: GroupStatus
    options: tuple[Option, ...]  # best first, then in the group's type order

    @property
    def met(self) -> bool:
        return self.status is not GroupStatus.NOT_MET

    @property
    def met_by(self) -> Option | None:
        best = self.options[0] if self.options else None
        return best if best is not None and best.status in _MET else None


@dataclass(frozen=True)
class UserCompliance:
    user_id: int
    role_id: int
    on: date
    groups: tuple[GroupResult, ...]

    @property
    def compliant(self) -> bool:
        return all(g.met for g in self.groups)

    @property
    def expiring(self) -> bool:
        """Compliant on the day, but some group lapses within the window."""
        return self.compliant and any(g.status is GroupStatus.EXPIRING for g in self.groups)


@dataclass(frozen=True)
class Window:
    on: date
    soon_until: date


# Each person's unarchived credential of each type: (holder id, type id) -> what they hold.
Evidence = dict[tuple[int, int], Held]


def judge_option(type_id: int, held: Held | None, window: Window) -> Option:
    if held is None or not held.versions:
        return Option(type_id, OptionStatus.MISSING, None, None)
    versions, credential_id = held.versions, held.credential_id
    effective = dates.effective_version(versions, window.on)
    if effective is not None:
        lapses = effective.expiry_date is not None and effective.expiry_date <= window.soon_until
        status = OptionStatus.EXPIRING if lapses else OptionStatus.MET
        return Option(type_id, status, credential_id, effective.id)
    latest = max(versions, key=lambda v: v.number)
    if latest.approval_status is ApprovalStatus.PENDING:
        status = OptionStatus.PENDING
    elif latest.approval_status is ApprovalStatus.REJECTED:
        status = OptionStatus.REJECTED
    # The latest is approved but not valid on the day: lapsed, or not issued yet.
    elif latest.issue_date is not None and latest.issue_date > window.on:
        status = OptionStatus.NOT_YET_VALID
    else:
        status = OptionStatus.EXPIRED
    return Option(type_id, status, credential_id, latest.id)


_RANK = {status: rank for rank, status in enumerate(OptionStatus)}


def judge_group(group: Group, user_id: int, evidence: Evidence, window: Window) -> GroupResult:
    options = tuple(
        sorted(
            (judge_option(t, evidence.get((user_id, t)), window) for t in group.type_ids),
            key=lambda o: _RANK[o.status],
        )
    )
    effective_from = group.requirement.effective_from
    if effective_from is not None and effective_from > window.on:
        return GroupResult(group, GroupStatus.NOT_YET_EFFECTIVE, options)
    best = options[0].status if options else OptionStatus.MISSING
    status = {
        OptionStatus.MET: GroupStatus.MET,
        OptionStatus.EXPIRING: GroupStatus.EXPIRING,
    }.get(best, GroupStatus.NOT_MET)
    return GroupResult(group, status, options)


def judge(
    user_id: int, role_id: int, groups: Sequence[Group], evidence: Evidence, window: Window
) -> UserCompliance:
    return UserCompliance(
        user_id=user_id,
        role_id=role_id,
        on=window.on,
        groups=tuple(judge_group(g, user_id, evidence, window) for g in groups),
    )


async def load_groups(session: AsyncSession, role_ids: Collection[int]) -> dict[int, list[Group]]:
    """Each role's requirement groups in order: two statements for any number of roles."""
    requirements = list(await session.scalars(select_requirements_of(role_ids)))
    types: dict[int, list[int]] = defaultdict(list)
    if requirements:
        statement = select_requirement_types_of([r.id for r in requirements])
        for row in await session.scalars(statement):
            types[row.requirement_id].append(row.type_id)
    groups: dict[int, list[Group]] = defaultdict(list)
    for requirement in requirements:
        groups[requirement.job_role_id].append(Group(requirement, tuple(types[requirement.id])))
    return groups


async def load_evidence(
    session: AsyncSession, holder_ids: Collection[int], type_ids: Collection[int]
) -> Evidence:
    """The holders' unarchived credentials of the types with every version, as plain
    values: one statement for any number of people."""
    if not holder_ids or not type_ids:
        return {}
    evidence: Evidence = {}
    rows = await session.execute(select_held_versions(holder_ids, type_ids))
    for credential_id, holder_id, type_id, version_id, number, status, issued, expires in rows:
        held = evidence.get((holder_id, type_id))
        if held is None:
            held = evidence[(holder_id, type_id)] = Held(credential_id, [])
        held.versions.append(HeldVersion(version_id, number, status, issued, expires))
    return evidence


async def compliance_of(
    session: AsyncSession, pairs: Sequence[tuple[int, int]], window: Window
) -> list[UserCompliance]:
    """Compliance of each (user id, role id) on the window's day, in the order given:
    three statements whatever the number of people and roles."""
    groups = await load_groups(session, {role_id for _, role_id in pairs})
    type_ids = {t for role_groups in groups.values() for g in role_groups for t in g.type_ids}
    evidence = await load_evidence(session, {user_id for user_id, _ in pairs}, type_ids)
    return [
        judge(user_id, role_id, groups.get(role_id, []), evidence, window)
        for user_id, role_id in pairs
    ]
