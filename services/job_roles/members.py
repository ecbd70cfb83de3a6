"""Who holds a job role: assigning people to it and taking them off it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from models.job_role import JobRole, JobRoleMember, select_memberships
from models.user import select_users_by_id
from services.credentials.policy import can_assign_job_roles
from services.errors import DomainError
from services.job_roles.errors import JobRoleErrorCode
from services.job_roles.roles import get_role
from services.viewer import Viewer

MAX_USERS_AT_ONCE = 500

# assign or unassign: (session, viewer, role id, user ids, now) -> the role
MemberAction = Callable[
    [AsyncSession, Viewer, int, Sequence[int | None], datetime], Awaitable[JobRole]
]


async def _checked(
    session: AsyncSession, viewer: Viewer, role_id: int, user_ids: Sequence[int | None]
) -> tuple[JobRole, set[int]]:
    if not can_assign_job_roles(viewer):
        raise DomainError(
            JobRoleErrorCode.PERMISSION_DENIED,
            "Assigning job roles needs USERS_MANAGE or CREDENTIALS_MANAGE.",
        )
    if len(user_ids) > MAX_USERS_AT_ONCE:
        raise DomainError(
            JobRoleErrorCode.TOO_MANY,
            f"At most {MAX_USERS_AT_ONCE} users at once; got {len(user_ids)}.",
            "userIds",
        )
    role = await get_role(session, role_id, "jobRoleId")
    wanted = {i for i in user_ids if i is not None}
    # Assigners see every user of the organization: one missing is one that doesn't exist.
    found = {u.id for u in await session.scalars(select_users_by_id(true(), wanted))}
    if None in user_ids or wanted - found:
        raise DomainError(JobRoleErrorCode.NOT_FOUND, "A user doesn't exist.", "userIds")
    return role, wanted


async def assign(
    session: AsyncSession,
    viewer: Viewer,
    role_id: int,
    user_ids: Sequence[int | None],
    now: datetime,
) -> JobRole:
    """Adds the users to the role; those who already hold it keep it as it was."""
    role, wanted = await _checked(session, viewer, role_id, user_ids)
    holding = {m.user_id for m in await session.scalars(select_memberships(role.id, wanted))}
    session.add_all(
        JobRoleMember(
            organization_id=role.organization_id,
            job_role_id=role.id,
            user_id=user_id,
            assigned_at=now,
        )
        for user_id in sorted(wanted - holding)
    )
    await session.flush()
    return role


async def unassign(
    session: AsyncSession,
    viewer: Viewer,
    role_id: int,
    user_ids: Sequence[int | None],
    now: datetime,
) -> JobRole:
    """Takes the users off the role; those who did not hold it are left as they were."""
    role, wanted = await _checked(session, viewer, role_id, user_ids)
    for membership in await session.scalars(select_memberships(role.id, wanted)):
        await session.delete(membership)
    await session.flush()
    return role
