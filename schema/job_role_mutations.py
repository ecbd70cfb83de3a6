"""Job-role mutations: each returns the role (or what was deleted) and `errors`."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET, Info

from models.job_role import JobRole
from resolvers.context import RequestContext
from resolvers.mutations import Outcome, run_mutation
from schema.ids import key_of
from schema.job_role import JobRoleNode
from schema.unset import given
from services.errors import DomainError
from services.job_roles import members, roles
from services.job_roles.errors import JobRoleErrorCode

JobRoleErrorCodeEnum = strawberry.enum(
    JobRoleErrorCode, name="JobRoleErrorCode", description="Why a job-role mutation was refused."
)


@strawberry.type
class JobRoleError:
    code: JobRoleErrorCodeEnum  # type: ignore[valid-type]
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str

    @classmethod
    def many(cls, errors: list[DomainError]) -> list[JobRoleError]:
        return [cls(code=e.code, field=e.field, message=e.message) for e in errors]

    @classmethod
    def not_found(cls, field: str, what: str = "Job role") -> JobRoleError:
        return cls(code=JobRoleErrorCode.NOT_FOUND, field=field, message=f"{what} doesn't exist.")


@strawberry.input(description="Met by a valid credential of any one of the types.")
class JobRoleRequirementInput:
    type_ids: list[strawberry.ID]
    effective_from: date | None = strawberry.field(
        default=None, description="The first day it counts; left out: always."
    )

    def to_spec(self) -> roles.RequirementSpec:
        return roles.RequirementSpec(
            type_ids=[key_of(t, "CredentialType") for t in self.type_ids],
            effective_from=self.effective_from,
        )


@strawberry.input
class CreateJobRoleInput:
    name: str
    description: str | None = None
    requirements: list[JobRoleRequirementInput] = strawberry.field(default_factory=list)


@strawberry.input(
    description="Fields left out (or null) keep their values; requirements, when given, "
    "replace every requirement ([] removes them all)."
)
class UpdateJobRoleInput:
    id: strawberry.ID
    name: str | None = UNSET
    description: str | None = UNSET
    requirements: list[JobRoleRequirementInput] | None = UNSET


@strawberry.input
class JobRoleMembersInput:
    job_role_id: strawberry.ID
    user_ids: list[strawberry.ID]


@strawberry.type
class JobRolePayload:
    job_role: JobRoleNode | None = None
    errors: list[JobRoleError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteJobRolePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[JobRoleError] = strawberry.field(default_factory=list)


def _payload(outcome: Outcome[JobRole]) -> JobRolePayload:
    if outcome.value is None:
        return JobRolePayload(errors=JobRoleError.many(outcome.errors))
    return JobRolePayload(job_role=JobRoleNode.from_model(outcome.value))


def _specs(
    requirements: list[JobRoleRequirementInput] | None,
) -> list[roles.RequirementSpec] | None:
    return [r.to_spec() for r in requirements] if requirements is not None else None


@strawberry.type
class JobRoleMutations:
    @strawberry.mutation(description="Define a job role and its requirements (CREDENTIALS_MANAGE).")
    async def create_job_role(
        self, info: Info[RequestContext, None], input: CreateJobRoleInput
    ) -> JobRolePayload:
        changes = roles.RoleChanges(
            name=input.name, description=input.description, requirements=_specs(input.requirements)
        )
        outcome = await run_mutation(
            info, lambda s, viewer, now: roles.create_role(s, viewer, changes, now)
        )
        return _payload(outcome)

    @strawberry.mutation(
        description="Rename, describe or redefine a job role (CREDENTIALS_MANAGE)."
    )
    async def update_job_role(
        self, info: Info[RequestContext, None], input: UpdateJobRoleInput
    ) -> JobRolePayload:
        role_id = key_of(input.id, "JobRole")
        if role_id is None:
            return JobRolePayload(errors=[JobRoleError.not_found("id")])
        changes = roles.RoleChanges(
            name=given(input.name),
            description=given(input.description),
            requirements=_specs(given(input.requirements)),
        )
        outcome = await run_mutation(
            info, lambda s, viewer, now: roles.update_role(s, viewer, role_id, changes, now)
        )
        return _payload(outcome)

    @strawberry.mutation(
        description="Delete a job role with its requirements and assignments; credentials "
        "stay (CREDENTIALS_MANAGE)."
    )
    async def delete_job_role(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> DeleteJobRolePayload:
        role_id = key_of(id, "JobRole")
        if role_id is None:
            return DeleteJobRolePayload(errors=[JobRoleError.not_found("id")])
        outcome = await run_mutation(
            info, lambda s, viewer, now: roles.delete_role(s, viewer, role_id)
        )
        if outcome.errors:
            return DeleteJobRolePayload(errors=JobRoleError.many(outcome.errors))
        return DeleteJobRolePayload(deleted_id=id)

    @strawberry.mutation(
        description="Give people a job role; those who hold it already keep it "
        "(USERS_MANAGE or CREDENTIALS_MANAGE)."
    )
    async def assign_job_role(
        self, info: Info[RequestContext, None], input: JobRoleMembersInput
    ) -> JobRolePayload:
        return await _members(info, input, members.assign)

    @strawberry.mutation(
        description="Take people off a job role (USERS_MANAGE or CREDENTIALS_MANAGE)."
    )
    async def unassign_job_role(
        self, info: Info[RequestContext, None], input: JobRoleMembersInput
    ) -> JobRolePayload:
        return await _members(info, input, members.unassign)


async def _members(
    info: Info[RequestContext, None],
    input: JobRoleMembersInput,
    action: members.MemberAction,
) -> JobRolePayload:
    role_id = key_of(input.job_role_id, "JobRole")
    if role_id is None:
        return JobRolePayload(errors=[JobRoleError.not_found("jobRoleId")])
    user_ids = [key_of(u, "User") for u in input.user_ids]
    outcome = await run_mutation(
        info, lambda s, viewer, now: action(s, viewer, role_id, user_ids, now)
    )
    return _payload(outcome)
