"""Per-request DataLoaders for credentials: one query per batch, only what the viewer sees."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from models.activity import CredentialActivity
from models.credential import Credential, CredentialVersion
from models.credential_filter import ArchivedFilter, CredentialFilter
from models.credential_queries import (
    select_activity_of_credentials,
    select_credentials_by_id,
    select_credentials_of_holders,
    select_latest_versions_of,
    select_versions_by_id,
    select_versions_of,
)
from models.credential_settings import CredentialSettings
from models.credential_type import CredentialType, select_types_by_id
from models.media import (
    CredentialMedia,
    count_media_of_versions,
    select_media_by_id,
    select_media_of_versions,
)
from models.tenancy import scoped_to
from models.user import select_users_by_id
from server.database import Database
from services.credentials.policy import can_see_details
from services.credentials.settings import load_settings
from services.viewer import Viewer
from services.visibility import users_visible_to


class CredentialLoaders:
    def __init__(self, database: Database, viewer: Viewer) -> None:
        self._database = database
        self._viewer = viewer
        self._settings: asyncio.Future[CredentialSettings] | None = None

    # Each made on first use (see Loaders).
    @cached_property
    def credential_by_id(self) -> DataLoader[int, Credential | None]:
        return DataLoader(self._credentials)

    @cached_property
    def credentials_by_holder(self) -> DataLoader[tuple[int, ArchivedFilter], list[Credential]]:
        return DataLoader(self._credentials_of_holders)

    @cached_property
    def type_by_id(self) -> DataLoader[int, CredentialType | None]:
        return DataLoader(self._types)

    @cached_property
    def versions_by_credential_id(self) -> DataLoader[int, list[CredentialVersion]]:
        return DataLoader(self._versions)

    @cached_property
    def latest_version_by_credential_id(self) -> DataLoader[int, CredentialVersion | None]:
        return DataLoader(self._latest_versions)

    @cached_property
    def version_by_id(self) -> DataLoader[int, CredentialVersion | None]:
        return DataLoader(self._versions_by_id)

    @cached_property
    def activity_by_credential_id(self) -> DataLoader[int, list[CredentialActivity]]:
        return DataLoader(self._activity)

    @cached_property
    def media_by_version_id(self) -> DataLoader[int, list[CredentialMedia]]:
        """Only for versions already shown to the viewer: it does not check visibility."""
        return DataLoader(self._media)

    @cached_property
    def media_count_by_version_id(self) -> DataLoader[int, int]:
        """Only for versions already shown to the viewer: it does not check visibility."""
        return DataLoader(self._media_counts)

    @cached_property
    def media_by_id(self) -> DataLoader[int, CredentialMedia | None]:
        return DataLoader(self._media_by_id)

    def _read(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._database.read(scoped_to(self._viewer.organization_id))

    async def settings(self, session: AsyncSession | None = None) -> CredentialSettings:
        """Read once per request. `session`: a read session the caller holds and waits
        on meanwhile, to read them in (one checkout fewer than a session of their own)."""
        # Every row of a page asks at once: one shared task makes it one statement, and
        # every caller resumes together (a lock would let them through one tick apart,
        # scattering the loads they make next over many batches).
        if self._settings is None:
            self._settings = asyncio.ensure_future(self._load_settings(session))
        return await self._settings

    async def _load_settings(self, session: AsyncSession | None) -> CredentialSettings:
        if session is not None:
            return await load_settings(session, self._viewer.organization_id)
        async with self._read() as own:
            return await load_settings(own, self._viewer.organization_id)

    async def _credentials(self, ids: Sequence[int]) -> list[Credential | None]:
        statement = select_credentials_by_id(users_visible_to(self._viewer), ids)
        async with self._read() as session:
            found = {c.id: c for c in await session.scalars(statement)}
        return [found.get(i) for i in ids]

    async def _credentials_of_holders(
        self, keys: Sequence[tuple[int, ArchivedFilter]]
    ) -> list[list[Credential]]:
        """One statement per archived setting asked for (there is usually one)."""
        grouped: dict[tuple[int, ArchivedFilter], list[Credential]] = defaultdict(list)
        visible = users_visible_to(self._viewer)
        async with self._read() as session:
            for archived in {archived for _, archived in keys}:
                holders = [holder for holder, a in keys if a is archived]
                conditions = CredentialFilter(archived=archived).clauses()
                statement = select_credentials_of_holders(visible, holders, conditions)
                for credential in await session.scalars(statement):
                    grouped[(credential.holder_id, archived)].append(credential)
                    self.credential_by_id.prime(credential.id, credential)
        return [grouped[key] for key in keys]

    async def _types(self, ids: Sequence[int]) -> list[CredentialType | None]:
        async with self._read() as session:
            found = {t.id: t for t in await session.scalars(select_types_by_id(ids))}
        return [found.get(i) for i in ids]

    async def _versions(self, credential_ids: Sequence[int]) -> list[list[CredentialVersion]]:
        grouped: dict[int, list[CredentialVersion]] = defaultdict(list)
        async with self._read() as session:
            for version in await session.scalars(select_versions_of(credential_ids)):
                grouped[version.credential_id].append(version)
        return [grouped[i] for i in credential_ids]

    async def _latest_versions(
        self, credential_ids: Sequence[int]
    ) -> list[CredentialVersion | None]:
        """Only for credentials the viewer has already loaded: callers hold one."""
        async with self._read() as session:
            found = {
                v.credential_id: v
                for v in await session.scalars(select_latest_versions_of(credential_ids))
            }
        return [found.get(i) for i in credential_ids]

    async def _versions_by_id(self, ids: Sequence[int]) -> list[CredentialVersion | None]:
        async with self._read() as session:
            found = {v.id: v for v in await session.scalars(select_versions_by_id(ids))}
        # A version is visible exactly when its credential is.
        credentials = await self.credential_by_id.load_many(
            list({v.credential_id for v in found.values()})
        )
        visible = {c.id for c in credentials if c is not None}
        return [
            v if (v := found.get(i)) is not None and v.credential_id in visible else None
            for i in ids
        ]

    async def _activity(self, credential_ids: Sequence[int]) -> list[list[CredentialActivity]]:
        grouped: dict[int, list[CredentialActivity]] = defaultdict(list)
        async with self._read() as session:
            for entry in await session.scalars(select_activity_of_credentials(credential_ids)):
                grouped[entry.credential_id].append(entry)
        return [grouped[i] for i in credential_ids]

    async def _media(self, version_ids: Sequence[int]) -> list[list[CredentialMedia]]:
        grouped: dict[int, list[CredentialMedia]] = defaultdict(list)
        async with self._read() as session:
            for media in await session.scalars(select_media_of_versions(version_ids)):
                grouped[media.version_id].append(media)
        return [grouped[i] for i in version_ids]

    async def _media_counts(self, version_ids: Sequence[int]) -> list[int]:
        async with self._read() as session:
            counts = dict(
                (version_id, count)
                for version_id, count in await session.execute(count_media_of_versions(version_ids))
            )
        return [counts.get(i, 0) for i in version_ids]

    async def _media_by_id(self, ids: Sequence[int]) -> list[CredentialMedia | None]:
        """A file is there for a viewer who may see its credential's details."""
        async with self._read() as session:
            found = {m.id: m for m in await session.scalars(select_media_by_id(ids))}
        credentials = [
            c
            for c in await self.credential_by_id.load_many(
                list({m.credential_id for m in found.values()})
            )
            if c is not None
        ]
        visible = users_visible_to(self._viewer)
        async with self._read() as session:
            holders = {
                u.id: u
                for u in await session.scalars(
                    select_users_by_id(visible, {c.holder_id for c in credentials})
                )
            }
        allowed = {
            c.id
            for c in credentials
            if c.holder_id in holders and can_see_details(self._viewer, holders[c.holder_id])
        }
        return [
            m if (m := found.get(i)) is not None and m.credential_id in allowed else None
            for i in ids
        ]
