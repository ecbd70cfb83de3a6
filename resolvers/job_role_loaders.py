"""Per-request DataLoaders for job roles: one statement per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from models.job_role import (
    JobRole,
    count_members,
    select_job_roles,
    select_members,
    select_roles_of_users,
)
from models.tenancy import scoped_to
from server.database import Database
from services.job_roles.compliance import Group, load_groups
from services.viewer import Viewer
from services.visibility import users_visible_to


class JobRoleLoaders:
    def __init__(self, database: Database, viewer: Viewer) -> None:
        self._database = database
        self._viewer = viewer
        self.role_by_id = DataLoader[int, JobRole | None](self._roles)
        self.groups_by_role_id = DataLoader[int, list[Group]](self._groups)
        self.member_ids_by_role_id = DataLoader[int, list[int]](self._members)
        self.member_count_by_role_id = DataLoader[int, int](self._member_counts)
        self.role_ids_by_user_id = DataLoader[int, list[int]](self._roles_of_users)

    def _read(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._database.read(scoped_to(self._viewer.organization_id))

    async def _roles(self, ids: Sequence[int]) -> list[JobRole | None]:
        async with self._read() as session:
            found = {r.id: r for r in await session.scalars(select_job_roles(ids))}
        return [found.get(i) for i in ids]

    async def _groups(self, role_ids: Sequence[int]) -> list[list[Group]]:
        async with self._read() as session:
            groups = await load_groups(session, role_ids)
        return [groups.get(i, []) for i in role_ids]

    async def _members(self, role_ids: Sequence[int]) -> list[list[int]]:
        """Members the viewer may see, by name."""
        grouped: dict[int, list[int]] = defaultdict(list)
        statement = select_members(role_ids, users_visible_to(self._viewer))
        async with self._read() as session:
            for role_id, user_id in await session.execute(statement):
                grouped[role_id].append(user_id)
        return [grouped[i] for i in role_ids]

    async def _member_counts(self, role_ids: Sequence[int]) -> list[int]:
        statement = count_members(role_ids, users_visible_to(self._viewer))
        async with self._read() as session:
            counts = {role_id: int(n) for role_id, n in await session.execute(statement)}
        return [counts.get(i, 0) for i in role_ids]

    async def _roles_of_users(self, user_ids: Sequence[int]) -> list[list[int]]:
        grouped: dict[int, list[int]] = defaultdict(list)
        async with self._read() as session:
            for user_id, role_id in await session.execute(select_roles_of_users(user_ids)):
                grouped[user_id].append(role_id)
        return [grouped[i] for i in user_ids]
