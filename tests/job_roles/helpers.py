"""Job-role mutations as clients send them, and a read-back of what is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import JobRole, JobRoleMember, JobRoleRequirement, JobRoleRequirementType
from models.tenancy import unscoped
from server.database import Database
from tests.conftest import GraphQLClient

ROLE_FIELDS = """
  jobRole {
    id name description memberCount
    requirements { effectiveFrom types { name } }
    members { name }
  }
  errors { code field message }
"""
CREATE_ROLE = f"""
mutation CreateRole($input: CreateJobRoleInput!) {{
  createJobRole(input: $input) {{ {ROLE_FIELDS} }}
}}
"""
UPDATE_ROLE = f"""
mutation UpdateRole($input: UpdateJobRoleInput!) {{
  updateJobRole(input: $input) {{ {ROLE_FIELDS} }}
}}
"""
DELETE_ROLE = """
mutation DeleteRole($id: ID!) {
  deleteJobRole(id: $id) { deletedId errors { code field message } }
}
"""
ASSIGN = f"""
mutation Assign($input: JobRoleMembersInput!) {{
  assignJobRole(input: $input) {{ {ROLE_FIELDS} }}
}}
"""
UNASSIGN = f"""
mutation Unassign($input: JobRoleMembersInput!) {{
  unassignJobRole(input: $input) {{ {ROLE_FIELDS} }}
}}
"""


async def create_role(
    graphql: GraphQLClient, token: str, name: str, requirements: list[dict[str, Any]]
) -> dict[str, Any]:
    body = await graphql.execute(
        CREATE_ROLE, {"input": {"name": name, "requirements": requirements}}, token=token
    )
    payload: dict[str, Any] = body["data"]["createJobRole"]
    assert payload["errors"] == [], payload
    return dict(payload["jobRole"])


async def assign(
    graphql: GraphQLClient, token: str, role_id: str, user_ids: list[str]
) -> dict[str, Any]:
    body = await graphql.execute(
        ASSIGN, {"input": {"jobRoleId": role_id, "userIds": user_ids}}, token=token
    )
    payload: dict[str, Any] = body["data"]["assignJobRole"]
    return payload


async def stored_roles(database: Database) -> list[tuple[Any, ...]]:
    """Every role with its groups (effective from, type ids) and member ids, as stored."""
    async with database.read(unscoped()) as session:
        roles = list(await session.scalars(select(JobRole).order_by(JobRole.id)))
        requirements = list(
            await session.scalars(
                select(JobRoleRequirement).order_by(
                    JobRoleRequirement.job_role_id, JobRoleRequirement.position
                )
            )
        )
        types = list(await session.scalars(select(JobRoleRequirementType)))
        members = list(await session.scalars(select(JobRoleMember)))
    result = []
    for role in roles:
        groups = tuple(
            (r.effective_from, tuple(sorted(t.type_id for t in types if t.requirement_id == r.id)))
            for r in requirements
            if r.job_role_id == role.id
        )
        holders = tuple(sorted(m.user_id for m in members if m.job_role_id == role.id))
        result.append((role.name, role.description, groups, holders))
    return result
