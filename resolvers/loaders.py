"""Per-request DataLoaders (`XByYLoader`): one query per batch, each in its own session,
filtered by what the viewer may see, so an invisible object loads exactly as a missing one."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from models.company import Company, select_companies
from models.tenancy import scoped_to
from models.user import User, select_users_by_id
from resolvers.credential_loaders import CredentialLoaders
from resolvers.job_role_loaders import JobRoleLoaders
from resolvers.visibility import users_visible_to
from server.database import Database
from services.viewer import Viewer


class Loaders:
    def __init__(self, database: Database, viewer: Viewer) -> None:
        self._database = database
        self._viewer = viewer
        self.user_by_id = DataLoader[int, User | None](self._load_users)
        self.company_by_id = DataLoader[int, Company | None](self._load_companies)
        self.credentials = CredentialLoaders(database, viewer)
        self.job_roles = JobRoleLoaders(database, viewer)

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
