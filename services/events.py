"""Which credential events a subscriber receives: what they asked for, and only what they
may see (an event is visible exactly when its holder is)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import Credential, CredentialVersion
from models.credential_queries import select_credentials_by_id, select_versions_of
from models.credential_type import CredentialType, select_types_by_id
from models.event import CredentialEvent, CredentialEventKind
from models.user import User, select_users_by_id
from services.credentials.policy import can_view_holder
from services.viewer import Viewer


@dataclass(frozen=True)
class EventSnapshot:
    """An event with what it speaks of as it is now, loaded once for every subscriber.
    The credential is None once deleted; the holder once the user is gone."""

    event: CredentialEvent
    credential: Credential | None = None
    versions: list[CredentialVersion] = field(default_factory=list)
    holder: User | None = None
    actor: User | None = None
    credential_type: CredentialType | None = None

    @property
    def id(self) -> int:
        return self.event.id


@dataclass(frozen=True)
class EventFilter:
    viewer: Viewer
    kinds: frozenset[CredentialEventKind] | None = None
    holder_id: int | None = None
    type_id: int | None = None

    @classmethod
    def of(
        cls,
        viewer: Viewer,
        kinds: Collection[CredentialEventKind] | None,
        holder_id: int | None,
        type_id: int | None,
    ) -> EventFilter:
        return cls(viewer, frozenset(kinds) if kinds else None, holder_id, type_id)

    def accepts(self, snapshot: EventSnapshot) -> bool:
        event = snapshot.event
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.holder_id is not None and event.holder_id != self.holder_id:
            return False
        if self.type_id is not None and event.type_id != self.type_id:
            return False
        if snapshot.holder is None:  # the holder's account is gone: admins only
            return self.viewer.sees_all_users
        return can_view_holder(self.viewer, snapshot.holder)


async def load_snapshots(
    session: AsyncSession, events: Sequence[CredentialEvent]
) -> list[EventSnapshot]:
    """Events with what they speak of, in a handful of statements whatever their number."""
    credential_ids = {e.credential_id for e in events}
    user_ids = {e.holder_id for e in events} | {e.actor_id for e in events if e.actor_id}
    credentials = {
        c.id: c for c in await session.scalars(select_credentials_by_id(true(), credential_ids))
    }
    versions: dict[int, list[CredentialVersion]] = defaultdict(list)
    for version in await session.scalars(select_versions_of(credentials)):
        versions[version.credential_id].append(version)
    users = {u.id: u for u in await session.scalars(select_users_by_id(true(), user_ids))}
    types = {
        t.id: t for t in await session.scalars(select_types_by_id({e.type_id for e in events}))
    }
    return [
        EventSnapshot(
            event=e,
            credential=credentials.get(e.credential_id),
            versions=versions.get(e.credential_id, []),
            holder=users.get(e.holder_id),
            actor=users.get(e.actor_id) if e.actor_id else None,
            credential_type=types.get(e.type_id),
        )
        for e in events
    ]
