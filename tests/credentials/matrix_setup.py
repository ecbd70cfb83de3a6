"""Seeding and read-back for the authorization, transition, visibility and archive/delete
tests.

State is written through the lifecycle services (much faster than one GraphQL request per
step) as an organization's admin, and read back straight from the tables, so a test sees
what really changed rather than what the API chose to report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    ApprovalStatus,
    Base,
    Credential,
    CredentialEvent,
    CredentialSettings,
    CredentialType,
    CredentialVersion,
    Permission,
)
from models.base import utcnow
from models.tenancy import scoped_to, unscoped
from server.database import Database
from services import identity
from services.credentials import lifecycle
from services.credentials import types as type_service
from services.credentials.validation import VersionDetails
from services.viewer import Viewer
from tests.world import World

OTHER_COMPANY_MANAGER = "other_company_manager"
"""A COMPANIES_MANAGE user who manages Bolt (not Acme); see add_other_company_manager."""

FIRST_AID = "First aid certificate"
FORKLIFT = "Forklift licence"
ISSUED = date(2026, 1, 15)
EXPIRES = date(2029, 1, 15)
REASON = "The scan is unreadable: upload a sharper photo."

# Every table a credential operation may write: a refused operation leaves them all as
# they were. (api_tokens is left out: authenticating records a token's last use.)
WATCHED_TABLES = (
    "credential_types",
    "credential_settings",
    "credentials",
    "credential_versions",
    "credential_activity",
    "credential_events",
    "audit_entries",
)


async def add_other_company_manager(database: Database, world: World) -> None:
    """Adds a user with "Companies: Manage" who manages Bolt, with a token, to `world`
    under the role OTHER_COMPANY_MANAGER."""
    async with database.transaction(unscoped()) as session:
        permission_set = await identity.create_permission_set(
            session, world.north_id, "Contractor managers", [Permission.COMPANIES_MANAGE.value]
        )
        user = await identity.create_user(
            session,
            world.north_id,
            "Other Company Manager",
            f"{OTHER_COMPANY_MANAGER}@example.com",
            permission_set_id=permission_set.id,
        )
        await identity.add_company_manager(session, world.north_id, world.bolt_id, user.id)
        record, token = await identity.issue_token(session, user, "other company manager token")
    world.user_ids[OTHER_COMPANY_MANAGER] = user.id
    world.tokens[OTHER_COMPANY_MANAGER] = token
    world.token_ids[OTHER_COMPANY_MANAGER] = record.id


def admin_viewer(world: World, organization: str = "north") -> Viewer:
    """The organization's admin (every permission), as the services see a caller."""
    role = "admin" if organization == "north" else "south_admin"
    return Viewer(
        user_id=world.user_ids[role],
        organization_id=world.north_id if organization == "north" else world.south_id,
        token_id=world.token_ids[role],
        permissions=frozenset(Permission),
        company_id=None,
        managed_company_ids=frozenset(),
        key_contact_company_ids=frozenset(),
    )


def reviewer_viewer(world: World) -> Viewer:
    """The credentials manager (CREDENTIALS_MANAGE only): reviews the admin's credentials."""
    role = "credentials_manager"
    return Viewer(
        user_id=world.user_ids[role],
        organization_id=world.north_id,
        token_id=world.token_ids[role],
        permissions=frozenset({Permission.CREDENTIALS_MANAGE}),
        company_id=None,
        managed_company_ids=frozenset(),
        key_contact_company_ids=frozenset(),
    )


class Seed:
    """Writes credential state in one organization through the services, as its admin."""

    def __init__(self, session: AsyncSession, viewer: Viewer, world: World) -> None:
        self.session = session
        self.viewer = viewer
        self.world = world
        self.now = utcnow()

    async def credential_type(self, name: str = FIRST_AID) -> int:
        changes = type_service.TypeChanges(name=name)
        return (await type_service.create_type(self.session, self.viewer, changes, self.now)).id

    async def credential(
        self,
        holder: str,
        type_id: int,
        *,
        status: ApprovalStatus = ApprovalStatus.PENDING,
        archived: bool = False,
        number: str = "FA-1001",
    ) -> int:
        """A credential of `holder` (a role of the world) whose only version has `status`."""
        details = VersionDetails(ISSUED, EXPIRES, number)
        credential = await lifecycle.create_credential(
            self.session, self.viewer, type_id, self.world.user_ids[holder], details, self.now
        )
        if status is ApprovalStatus.APPROVED:
            await self.approve(credential.id)
        elif status is ApprovalStatus.REJECTED:
            await self.reject(credential.id)
        if archived:
            await self.archive(credential.id)
        return credential.id

    async def add_version(self, credential_id: int, number: str = "FA-2002") -> None:
        details = VersionDetails(ISSUED, EXPIRES, number)
        await lifecycle.add_version(self.session, self.viewer, credential_id, details, self.now)

    async def approve(self, credential_id: int) -> None:
        await lifecycle.approve(self.session, self.viewer, credential_id, self.now)

    async def reject(self, credential_id: int, reason: str = REASON) -> None:
        await lifecycle.reject(self.session, self.viewer, credential_id, reason, self.now)

    async def archive(self, credential_id: int) -> None:
        await lifecycle.archive(self.session, self.viewer, credential_id, self.now)


@asynccontextmanager
async def seeding(
    database: Database, world: World, organization: str = "north"
) -> AsyncIterator[Seed]:
    """One write transaction in `organization` ("north" or "south"), committed at the end."""
    viewer = admin_viewer(world, organization)
    async with database.transaction(scoped_to(viewer.organization_id)) as session:
        yield Seed(session, viewer, world)


@dataclass(frozen=True)
class VersionState:
    id: int
    number: int
    approval_status: ApprovalStatus
    credential_number: str | None
    rejection_reason: str | None


@dataclass(frozen=True)
class CredentialState:
    holder_id: int
    type_id: int
    archived: bool
    revision: int
    versions: tuple[VersionState, ...]
    """Oldest first."""

    @property
    def latest(self) -> VersionState:
        return self.versions[-1]


async def credential_state(database: Database, credential_id: int) -> CredentialState | None:
    """The credential and its versions as stored; None once it is gone."""
    async with database.read(unscoped()) as session:
        credential = await session.get(Credential, credential_id)
        if credential is None:
            return None
        versions = await session.scalars(
            select(CredentialVersion)
            .where(CredentialVersion.credential_id == credential_id)
            .order_by(CredentialVersion.number)
        )
        return CredentialState(
            holder_id=credential.holder_id,
            type_id=credential.type_id,
            archived=credential.archived_at is not None,
            revision=credential.revision,
            versions=tuple(
                VersionState(
                    v.id, v.number, v.approval_status, v.credential_number, v.rejection_reason
                )
                for v in versions
            ),
        )


async def credential_ids_of(database: Database, holder_id: int) -> list[int]:
    async with database.read(unscoped()) as session:
        found = await session.scalars(
            select(Credential.id).where(Credential.holder_id == holder_id).order_by(Credential.id)
        )
        return list(found)


async def type_names(database: Database, organization_id: int) -> list[str]:
    async with database.read(unscoped()) as session:
        found = await session.scalars(
            select(CredentialType.name)
            .where(CredentialType.organization_id == organization_id)
            .order_by(CredentialType.name)
        )
        return list(found)


async def saved_settings(database: Database, organization_id: int) -> CredentialSettings | None:
    async with database.read(unscoped()) as session:
        found: CredentialSettings | None = await session.scalar(
            select(CredentialSettings).where(CredentialSettings.organization_id == organization_id)
        )
        return found


async def event_kinds(database: Database) -> list[tuple[str, int]]:
    """(kind, credential id) of every credential event, oldest first."""
    async with database.read(unscoped()) as session:
        rows = await session.execute(
            select(CredentialEvent.kind, CredentialEvent.credential_id).order_by(CredentialEvent.id)
        )
        return [(str(kind), credential_id) for kind, credential_id in rows]


@dataclass(frozen=True)
class Tables:
    """Every row of the watched tables, in key order."""

    rows: dict[str, list[tuple[Any, ...]]]

    def count(self, table: str) -> int:
        return len(self.rows[table])


async def read_tables(database: Database) -> Tables:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with database.read(unscoped()) as session:
        for name in WATCHED_TABLES:
            table = Base.metadata.tables[name]
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            rows[name] = [tuple(row) for row in result]
    return Tables(rows)
