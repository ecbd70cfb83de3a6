"""Per-request DataLoaders (`XByYLoader`): one query per batch, each in its own session,
filtered by what the viewer may see, so an invisible object loads exactly as a missing one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property

from strawberry.dataloader import DataLoader

from models.company import Company, select_companies
from models.tenancy import scoped_to
from models.user import (
    User,
    count_users_of_companies,
    select_first_users_of_companies,
    select_users_by_id,
)
from resolvers.credential_loaders import CredentialLoaders
from resolvers.job_role_loaders import JobRoleLoaders
from server.database import Database
from services.viewer import Viewer
from services.visibility import users_visible_to


class Loaders:
    """Each loader is made on first use: a subscription makes a fresh set per event."""

    def __init__(self, database: Database, viewer: Viewer) -> None:
        self._database = database
        self._viewer = viewer

    @cached_property
    def user_by_id(self) -> DataLoader[int, User | None]:
        return DataLoader(self._load_users)

    @cached_property
    def company_by_id(self) -> DataLoader[int, Company | None]:
        return DataLoader(self._load_companies)

    @cached_property
    def first_workers_by_company(self) -> DataLoader[tuple[int, int], list[User]]:
        """(company id, how many): a company's first workers, for every company at once."""
        return DataLoader(self._load_first_workers)

    @cached_property
    def worker_count_by_company(self) -> DataLoader[int, int]:
        return DataLoader(self._count_workers)

    @cached_property
    def credentials(self) -> CredentialLoaders:
        return CredentialLoaders(self._database, self._viewer)

    @cached_property
    def job_roles(self) -> JobRoleLoaders:
        return JobRoleLoaders(self._database, self._viewer)

    async def _load_users(self, ids: Sequence[int]) -> list[User | None]:
        visible = users_visible_to(self._viewer)
        async with self._database.read(scoped_to(self._viewer.organization_id)) as session:
            found = {u.id: u for u in await session.scalars(select_users_by_id(visible, ids))}
        return [found.get(i) for i in ids]

    async def _load_companies(self, ids: Sequence[int]) -> list[Company | None]:
        visible = self._viewer.visible_company_ids
        wanted = set(ids) if visible is None else set(ids) & visible
        async with self._database.read(scoped_to(self._viewer.organization_id)) as session:
            found = {c.id: c for c in await session.scalars(select_companies(wanted))}
        return [found.get(i) for i in ids]

    async def _load_first_workers(self, keys: Sequence[tuple[int, int]]) -> list[list[User]]:
        visible = users_visible_to(self._viewer)
        grouped: dict[tuple[int, int], list[User]] = defaultdict(list)
        async with self._database.read(scoped_to(self._viewer.organization_id)) as session:
            for limit in {limit for _, limit in keys}:
                companies = [company for company, n in keys if n == limit]
                statement = select_first_users_of_companies(visible, companies, limit)
                for user in await session.scalars(statement):
                    assert user.company_id is not None
                    grouped[(user.company_id, limit)].append(user)
                    self.user_by_id.prime(user.id, user)
        return [grouped[key] for key in keys]

    async def _count_workers(self, company_ids: Sequence[int]) -> list[int]:
        statement = count_users_of_companies(users_visible_to(self._viewer), company_ids)
        async with self._database.read(scoped_to(self._viewer.organization_id)) as session:
            counts = {company: int(n) for company, n in await session.execute(statement)}
        return [counts.get(i, 0) for i in company_ids]
