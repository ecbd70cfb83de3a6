"""Job-role reads on the root Query."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import Info

from resolvers.context import RequestContext
from resolvers.job_role import resolve_compliance, resolve_job_roles
from schema.ids import key_of
from schema.job_role import Compliance, JobRoleNode


@strawberry.type
class JobRoleQueries:
    @strawberry.field(description="The organization's job roles, by name.")
    async def job_roles(self, info: Info[RequestContext, None]) -> list[JobRoleNode]:
        return [JobRoleNode.from_model(r) for r in await resolve_job_roles(info)]

    @strawberry.field(
        description="Whether the user meets the job role's requirements on the day (default "
        "today; may be in the future), and for each requirement what is missing, pending, "
        "rejected or expiring. The user need not hold the role. Null when the user or the "
        "role is not there for the viewer."
    )
    async def compliance(
        self,
        info: Info[RequestContext, None],
        user_id: strawberry.ID,
        job_role_id: strawberry.ID,
        on_date: date | None = None,
    ) -> Compliance | None:
        judged = await resolve_compliance(
            info, key_of(user_id, "User"), key_of(job_role_id, "JobRole"), on_date
        )
        return Compliance.of(*judged) if judged is not None else None
