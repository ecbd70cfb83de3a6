"""Job roles, their credential requirements and the people who hold them.

A role's requirements are groups: every group must be met, and a group is met by a valid
credential of any one of its types ("First aid certificate OR Paramedic registration").
A group may take effect from a date; before it, it does not count.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    Date,
    Delete,
    ForeignKey,
    Select,
    String,
    Text,
    UniqueConstraint,
    delete,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from models.base import Base, TenantOwned, utcnow
from models.credential import ApprovalStatus, Credential, CredentialVersion
from models.user import User


class JobRole(TenantOwned, Base):
    __tablename__ = "job_roles"
    __table_args__ = (UniqueConstraint("organization_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # casefold(name): unique per organization
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("name")
    def _keep_name_key(self, _: str, name: str) -> str:
        self.name_key = name.strip().casefold()
        return name


class JobRoleRequirement(TenantOwned, Base):
    """One group of a role's requirements, met by any one of its types."""

    __tablename__ = "job_role_requirements"
    __table_args__ = (UniqueConstraint("job_role_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_role_id: Mapped[int] = mapped_column(ForeignKey("job_roles.id", ondelete="CASCADE"))
    position: Mapped[int]
    effective_from: Mapped[date | None] = mapped_column(Date)


class JobRoleRequirementType(TenantOwned, Base):
    """A credential type that meets a requirement group. A type a role requires cannot be
    deleted (RESTRICT): the requirement would silently weaken."""

    __tablename__ = "job_role_requirement_types"

    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("job_role_requirements.id", ondelete="CASCADE"), primary_key=True
    )
    type_id: Mapped[int] = mapped_column(
        ForeignKey("credential_types.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class JobRoleMember(TenantOwned, Base):
    __tablename__ = "job_role_members"

    job_role_id: Mapped[int] = mapped_column(
        ForeignKey("job_roles.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


def select_job_roles(ids: Collection[int] | None = None) -> Select[JobRole]:
    """The organization's roles by name; only `ids` when given."""
    statement = select(JobRole).order_by(JobRole.name_key, JobRole.id)
    return statement if ids is None else statement.where(JobRole.id.in_(ids))


def select_role_by_name_key(name_key: str) -> Select[JobRole]:
    return select(JobRole).where(JobRole.name_key == name_key)


def select_requirements_of(role_ids: Collection[int]) -> Select[JobRoleRequirement]:
    return (
        select(JobRoleRequirement)
        .where(JobRoleRequirement.job_role_id.in_(role_ids))
        .order_by(JobRoleRequirement.job_role_id, JobRoleRequirement.position)
    )


def select_requirement_types_of(
    requirement_ids: Collection[int],
) -> Select[JobRoleRequirementType]:
    return (
        select(JobRoleRequirementType)
        .where(JobRoleRequirementType.requirement_id.in_(requirement_ids))
        .order_by(JobRoleRequirementType.requirement_id, JobRoleRequirementType.type_id)
    )


def delete_requirements_of(role_id: int) -> Delete:
    """The role's requirement groups; their types go with them (ON DELETE CASCADE)."""
    return delete(JobRoleRequirement).where(JobRoleRequirement.job_role_id == role_id)


def select_members(
    role_ids: Collection[int], visible: ColumnElement[bool], user_ids: Collection[int] | None = None
) -> Select[int, int]:
    """(role id, user id) of the roles' members the viewer may see, by name."""
    statement = (
        select(JobRoleMember.job_role_id, JobRoleMember.user_id)
        .join(User, User.id == JobRoleMember.user_id)
        .where(JobRoleMember.job_role_id.in_(role_ids), visible)
        .order_by(JobRoleMember.job_role_id, User.name_key, User.id)
    )
    if user_ids is not None:
        statement = statement.where(JobRoleMember.user_id.in_(user_ids))
    return statement


def select_memberships(role_id: int, user_ids: Collection[int]) -> Select[JobRoleMember]:
    return select(JobRoleMember).where(
        JobRoleMember.job_role_id == role_id, JobRoleMember.user_id.in_(user_ids)
    )


def count_members(role_ids: Collection[int], visible: ColumnElement[bool]) -> Select[int, int]:
    """(role id, members the viewer may see)."""
    return (
        select(JobRoleMember.job_role_id, func.count())
        .join(User, User.id == JobRoleMember.user_id)
        .where(JobRoleMember.job_role_id.in_(role_ids), visible)
        .group_by(JobRoleMember.job_role_id)
    )


def select_roles_of_users(user_ids: Collection[int]) -> Select[int, int]:
    """(user id, role id) of every role the users hold."""
    return (
        select(JobRoleMember.user_id, JobRoleMember.job_role_id)
        .join(JobRole, JobRole.id == JobRoleMember.job_role_id)
        .where(JobRoleMember.user_id.in_(user_ids))
        .order_by(JobRoleMember.user_id, JobRole.name_key, JobRole.id)
    )


def select_type_required(type_id: int) -> Select[str]:
    """The name of a role that requires the type, if any does."""
    return (
        select(JobRole.name)
        .join(JobRoleRequirement, JobRoleRequirement.job_role_id == JobRole.id)
        .join(
            JobRoleRequirementType, JobRoleRequirementType.requirement_id == JobRoleRequirement.id
        )
        .where(JobRoleRequirementType.type_id == type_id)
        .limit(1)
    )


def select_held_versions(
    holder_ids: Collection[int], type_ids: Collection[int]
) -> Select[int, int, int, int, int, ApprovalStatus, date | None, date | None]:
    """What compliance is judged on: every version of the holders' unarchived credentials
    of the types, as (credential id, holder id, type id, version id, number, approval
    status, issue date, expiry date). Columns, not entities: a role of 500 people reads
    thousands, and the report needs only these."""
    return (
        select(
            Credential.id,
            Credential.holder_id,
            Credential.type_id,
            CredentialVersion.id,
            CredentialVersion.number,
            CredentialVersion.approval_status,
            CredentialVersion.issue_date,
            CredentialVersion.expiry_date,
        )
        .join(CredentialVersion, CredentialVersion.credential_id == Credential.id)
        .where(
            Credential.holder_id.in_(holder_ids),
            Credential.type_id.in_(type_ids),
            Credential.archived_at.is_(None),
        )
    )


def holds_job_role(job_role_ids: Collection[int]) -> ColumnElement[bool]:
    """Credentials whose holder holds one of the roles (for the credentials filter)."""
    return exists().where(
        JobRoleMember.user_id == Credential.holder_id, JobRoleMember.job_role_id.in_(job_role_ids)
    )


def select_company_memberships(company_id: int, visible: ColumnElement[bool]) -> Select[int, int]:
    """(user id, role id) of every role held by the company's workers the viewer may see,
    by worker name, then role name."""
    return (
        select(JobRoleMember.user_id, JobRoleMember.job_role_id)
        .join(User, User.id == JobRoleMember.user_id)
        .join(JobRole, JobRole.id == JobRoleMember.job_role_id)
        .where(User.company_id == company_id, visible)
        .order_by(User.name_key, User.id, JobRole.name_key, JobRole.id)
    )
