"""Job roles, their requirements, and compliance with them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import strawberry
from strawberry import Info, relay

from models.job_role import JobRole as JobRoleModel
from models.user import User
from resolvers.context import RequestContext
from resolvers.job_role import Judged, resolve_job_roles_by_id, resolve_role_compliance
from schema.credential import CredentialNode, CredentialVersionNode
from schema.credential_type import CredentialTypeNode
from schema.ids import local_ids
from schema.user import UserType
from services.job_roles import compliance as rules

OptionStatusEnum = strawberry.enum(
    rules.OptionStatus,
    name="RequirementOptionStatus",
    description="Where a person stands on one credential type of a requirement on the day: "
    "MET; EXPIRING (met, lapsing within the expiring-soon window); PENDING (the latest "
    "version awaits approval); REJECTED; EXPIRED; NOT_YET_VALID (issued after the day); "
    "MISSING (no unarchived credential of the type).",
)
GroupStatusEnum = strawberry.enum(
    rules.GroupStatus,
    name="RequirementStatus",
    description="MET; EXPIRING (met only by credentials lapsing soon); NOT_MET; "
    "NOT_YET_EFFECTIVE (takes effect after the day: it does not count yet).",
)


@strawberry.type(description="A group of credential types: any one of them meets it.")
class JobRoleRequirement:
    effective_from: date | None = strawberry.field(
        description="The first day it counts; null: always."
    )
    type_ids: strawberry.Private[tuple[int, ...]]

    @strawberry.field
    async def types(self, info: Info[RequestContext, None]) -> list[CredentialTypeNode]:
        found = await info.context.loaders.credentials.type_by_id.load_many(list(self.type_ids))
        return [CredentialTypeNode.from_model(t) for t in found if t is not None]

    @classmethod
    def of(cls, group: rules.Group) -> JobRoleRequirement:
        return cls(effective_from=group.requirement.effective_from, type_ids=group.type_ids)


@strawberry.type
class RequirementOption:
    status: OptionStatusEnum  # type: ignore[valid-type]
    type_id: strawberry.Private[int]
    holder_id: strawberry.Private[int]
    found: strawberry.Private[rules.Option]

    @strawberry.field
    async def type(self, info: Info[RequestContext, None]) -> CredentialTypeNode:
        found = await info.context.loaders.credentials.type_by_id.load(self.type_id)
        assert found is not None, "a required type cannot be deleted"
        return CredentialTypeNode.from_model(found)

    @strawberry.field(description="The person's unarchived credential of the type, if any.")
    async def credential(self, info: Info[RequestContext, None]) -> CredentialNode | None:
        return await _credential(info, self.found.credential_id)

    @strawberry.field(
        description="The version the status is about: the effective one when met, else the latest."
    )
    async def version(self, info: Info[RequestContext, None]) -> CredentialVersionNode | None:
        if self.found.version_id is None:
            return None
        loader = info.context.loaders.credentials.version_by_id
        version = await loader.load(self.found.version_id)
        return CredentialVersionNode.from_model(version, self.holder_id) if version else None


async def _credential(
    info: Info[RequestContext, None], credential_id: int | None
) -> CredentialNode | None:
    """A credential of a report, loaded only when the selection asks for it (a report
    judges from plain values)."""
    if credential_id is None:
        return None
    credential = await info.context.loaders.credentials.credential_by_id.load(credential_id)
    return CredentialNode.from_model(credential) if credential is not None else None


@strawberry.type
class RequirementCompliance:
    requirement: JobRoleRequirement
    status: GroupStatusEnum  # type: ignore[valid-type]
    met: bool = strawberry.field(description="MET, EXPIRING or NOT_YET_EFFECTIVE.")
    options: list[RequirementOption] = strawberry.field(
        description="Each type of the requirement, best first: what is there, pending, "
        "rejected, expired or missing."
    )

    @strawberry.field(description="The credential that meets it, if one does.")
    async def met_by(self, info: Info[RequestContext, None]) -> CredentialNode | None:
        for option in self.options:
            if option.status in (rules.OptionStatus.MET, rules.OptionStatus.EXPIRING):
                return await _credential(info, option.found.credential_id)
        return None

    @classmethod
    def of(cls, result: rules.GroupResult, holder_id: int) -> RequirementCompliance:
        return cls(
            requirement=JobRoleRequirement.of(result.group),
            status=result.status,
            met=result.met,
            options=[
                RequirementOption(status=o.status, type_id=o.type_id, holder_id=holder_id, found=o)
                for o in result.options
            ],
        )


@strawberry.type(description="Whether a person meets a job role's requirements on a day.")
class Compliance:
    on_date: date
    compliant: bool = strawberry.field(description="Every requirement in effect is met.")
    expiring: bool = strawberry.field(
        description="Compliant, but some requirement is met only by credentials lapsing "
        "within the expiring-soon window."
    )
    requirements: list[RequirementCompliance]
    person: strawberry.Private[User]
    role_id: strawberry.Private[int]

    @strawberry.field
    def user(self) -> UserType:
        return UserType.from_model(self.person)

    @strawberry.field
    async def job_role(self, info: Info[RequestContext, None]) -> JobRoleNode:
        role = await info.context.loaders.job_roles.role_by_id.load(self.role_id)
        assert role is not None, "compliance is only judged for existing roles"
        return JobRoleNode.from_model(role)

    @classmethod
    def of(cls, result: rules.UserCompliance, person: User) -> Compliance:
        return cls(
            on_date=result.on,
            compliant=result.compliant,
            expiring=result.expiring,
            requirements=[RequirementCompliance.of(g, result.user_id) for g in result.groups],
            person=person,
            role_id=result.role_id,
        )


@strawberry.type(description="Compliance of many people on a day, with counts.")
class ComplianceReport:
    on_date: date
    total: int
    compliant: int
    not_compliant: int
    expiring: int = strawberry.field(description="Compliant, but lapsing soon.")
    entries: list[Compliance] = strawberry.field(description="By person's name, then role.")

    @classmethod
    def of(cls, on: date, judged: list[Judged]) -> ComplianceReport:
        results = [result for result, _ in judged]
        compliant = sum(1 for r in results if r.compliant)
        return cls(
            on_date=on,
            total=len(results),
            compliant=compliant,
            not_compliant=len(results) - compliant,
            expiring=sum(1 for r in results if r.expiring),
            entries=[Compliance.of(result, person) for result, person in judged],
        )


@strawberry.type(name="JobRole")
class JobRoleNode(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Every one must be met, in the order given.")
    async def requirements(self, info: Info[RequestContext, None]) -> list[JobRoleRequirement]:
        groups = await info.context.loaders.job_roles.groups_by_role_id.load(self.id)
        return [JobRoleRequirement.of(g) for g in groups]

    @strawberry.field(description="Holders of the role the viewer may see, by name.")
    async def members(self, info: Info[RequestContext, None]) -> list[UserType]:
        loaders = info.context.loaders
        ids = await loaders.job_roles.member_ids_by_role_id.load(self.id)
        users = await loaders.user_by_id.load_many(ids)
        return [UserType.from_model(u) for u in users if u is not None]

    @strawberry.field(description="How many holders of the role the viewer may see.")
    async def member_count(self, info: Info[RequestContext, None]) -> int:
        return await info.context.loaders.job_roles.member_count_by_role_id.load(self.id)

    @strawberry.field(
        description="Compliance of every member the viewer may see on the day (default "
        "today; may be in the future)."
    )
    async def compliance(
        self, info: Info[RequestContext, None], on_date: date | None = None
    ) -> ComplianceReport:
        on, results = await resolve_role_compliance(info, self.id, on_date)
        return ComplianceReport.of(on, results)

    @classmethod
    def from_model(cls, role: JobRoleModel) -> JobRoleNode:
        return cls(
            id=role.id,
            name=role.name,
            description=role.description,
            created_at=role.created_at,
            updated_at=role.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[JobRoleNode | None]:
        roles = await resolve_job_roles_by_id(info, local_ids(node_ids))
        return [cls.from_model(r) if r is not None else None for r in roles]
