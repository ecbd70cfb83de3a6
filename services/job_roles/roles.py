"""Creating, changing and deleting job roles and their requirement groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.credential_type import select_types_by_id
from models.job_role import (
    JobRole,
    JobRoleRequirement,
    JobRoleRequirementType,
    delete_requirements_of,
    select_role_by_name_key,
)
from services.credentials.policy import can_define_job_roles
from services.errors import DomainError
from services.job_roles.errors import JobRoleErrorCode
from services.text import has_control_characters
from services.viewer import Viewer

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_GROUPS = 30
MAX_TYPES_PER_GROUP = 20


@dataclass(frozen=True)
class RequirementSpec:
    """One group: any one of the types meets it. None stands for an id that names no
    credential type (it is then NOT_FOUND, as an unknown one)."""

    type_ids: Sequence[int | None]
    effective_from: date | None = None


@dataclass(frozen=True)
class RoleChanges:
    """Fields to set; None leaves one as it is. `requirements` replaces every group."""

    name: str | None = None
    description: str | None = None
    requirements: Sequence[RequirementSpec] | None = None


def _require_define(viewer: Viewer) -> None:
    if not can_define_job_roles(viewer):
        raise DomainError(
            JobRoleErrorCode.PERMISSION_DENIED,
            "Managing job roles needs the CREDENTIALS_MANAGE permission.",
        )


async def get_role(session: AsyncSession, role_id: int, field: str = "id") -> JobRole:
    role = await session.get(JobRole, role_id)
    if role is None:
        raise DomainError(JobRoleErrorCode.NOT_FOUND, "Job role doesn't exist.", field)
    return role


async def create_role(
    session: AsyncSession, viewer: Viewer, changes: RoleChanges, now: datetime
) -> JobRole:
    _require_define(viewer)
    if changes.name is None:
        raise DomainError(JobRoleErrorCode.REQUIRED, "A name is required.", "name")
    role = JobRole(organization_id=viewer.organization_id, created_at=now, updated_at=now)
    await _apply(session, role, changes)
    try:
        async with session.begin_nested():
            session.add(role)
            await session.flush()
    except IntegrityError:
        raise _duplicate(role.name) from None
    await _replace_requirements(session, role, changes.requirements or [])
    return role


async def update_role(
    session: AsyncSession, viewer: Viewer, role_id: int, changes: RoleChanges, now: datetime
) -> JobRole:
    _require_define(viewer)
    role = await get_role(session, role_id)
    await _apply(session, role, changes)
    role.updated_at = now
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _duplicate(role.name) from None
    if changes.requirements is not None:
        await _replace_requirements(session, role, changes.requirements)
    return role


async def delete_role(session: AsyncSession, viewer: Viewer, role_id: int) -> None:
    """The role, its requirements and its memberships; credentials are untouched."""
    _require_define(viewer)
    await session.delete(await get_role(session, role_id))
    await session.flush()


def _duplicate(name: str) -> DomainError:
    return DomainError(
        JobRoleErrorCode.DUPLICATE_NAME, f"A job role named {name!r} already exists.", "name"
    )


async def _apply(session: AsyncSession, role: JobRole, changes: RoleChanges) -> None:
    if changes.name is not None:
        name = changes.name.strip()
        if not name:
            raise DomainError(JobRoleErrorCode.REQUIRED, "A name is required.", "name")
        if len(name) > MAX_NAME_LENGTH:
            raise DomainError(
                JobRoleErrorCode.INVALID, f"The name is over {MAX_NAME_LENGTH} characters.", "name"
            )
        if has_control_characters(name):
            raise DomainError(
                JobRoleErrorCode.INVALID, "The name must not contain control characters.", "name"
            )
        same = await session.scalar(select_role_by_name_key(name.casefold()))
        if same is not None and same is not role:
            raise _duplicate(same.name)
        role.name = name
    if changes.description is not None:
        description = changes.description.strip()
        if has_control_characters(description, multiline=True):
            raise DomainError(
                JobRoleErrorCode.INVALID,
                "The description must not contain control characters.",
                "description",
            )
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise DomainError(
                JobRoleErrorCode.INVALID,
                f"The description is over {MAX_DESCRIPTION_LENGTH} characters.",
                "description",
            )
        role.description = description
    if changes.requirements is not None:
        await _check_requirements(session, changes.requirements)


async def _check_requirements(session: AsyncSession, groups: Sequence[RequirementSpec]) -> None:
    if len(groups) > MAX_GROUPS:
        raise DomainError(
            JobRoleErrorCode.TOO_MANY,
            f"A role takes at most {MAX_GROUPS} requirements; got {len(groups)}.",
            "requirements",
        )
    for index, group in enumerate(groups):
        if not group.type_ids:
            raise DomainError(
                JobRoleErrorCode.REQUIRED,
                f"Requirement {index + 1} names no credential type: give at least one.",
                "requirements",
            )
        if len(set(group.type_ids)) > MAX_TYPES_PER_GROUP:
            raise DomainError(
                JobRoleErrorCode.TOO_MANY,
                f"Requirement {index + 1} has over {MAX_TYPES_PER_GROUP} credential types.",
                "requirements",
            )
    given = [type_id for group in groups for type_id in group.type_ids]
    wanted = {type_id for type_id in given if type_id is not None}
    known = {t.id for t in await session.scalars(select_types_by_id(wanted))}
    if None in given or wanted - known:
        raise DomainError(
            JobRoleErrorCode.NOT_FOUND,
            "A requirement names a credential type that doesn't exist.",
            "requirements",
        )


async def _replace_requirements(
    session: AsyncSession, role: JobRole, groups: Sequence[RequirementSpec]
) -> None:
    await session.execute(delete_requirements_of(role.id))
    created = [
        JobRoleRequirement(
            organization_id=role.organization_id,
            job_role_id=role.id,
            position=position,
            effective_from=group.effective_from,
        )
        for position, group in enumerate(groups)
    ]
    session.add_all(created)
    await session.flush()
    session.add_all(
        JobRoleRequirementType(
            organization_id=role.organization_id, requirement_id=requirement.id, type_id=type_id
        )
        for requirement, group in zip(created, groups, strict=True)
        for type_id in dict.fromkeys(t for t in group.type_ids if t is not None)
    )
    await session.flush()
