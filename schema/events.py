"""Credential events, delivered over graphql-transport-ws subscriptions."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime

import strawberry
from strawberry import Info

from models.event import CredentialEventKind
from resolvers.context import RequestContext
from resolvers.events import event_cursor, resolve_event_head, stream_events
from schema.credential import API_FIELD_NAMES, CredentialNode, CredentialVersionNode
from schema.credential_type import CredentialTypeNode
from schema.ids import key_of
from schema.user import UserType
from services.events import EventSnapshot

CredentialEventKindEnum = strawberry.enum(
    CredentialEventKind,
    name="CredentialEventKind",
    description="What happened to a credential. EXPIRING_SOON is sent at each of the "
    "holder's reminder lead times, EXPIRED the day after the expiry date.",
)

APPROVAL_KINDS = (
    CredentialEventKind.SUBMITTED,
    CredentialEventKind.VERSION_ADDED,
    CredentialEventKind.APPROVED,
    CredentialEventKind.REJECTED,
)
EXPIRY_KINDS = (CredentialEventKind.EXPIRING_SOON, CredentialEventKind.EXPIRED)


@strawberry.type(name="CredentialEvent")
class CredentialEventType:
    cursor: str = strawberry.field(
        description="Pass as `after` when subscribing again to receive every later event."
    )
    kind: CredentialEventKindEnum  # type: ignore[valid-type]
    occurred_at: datetime
    snapshot: strawberry.Private[EventSnapshot]

    @strawberry.field(description="The credential as it is now; null once deleted.")
    async def credential(self, info: Info[RequestContext, None]) -> CredentialNode | None:
        credential = await info.context.loaders.credentials.credential_by_id.load(
            self.snapshot.event.credential_id
        )
        return CredentialNode.from_model(credential) if credential is not None else None

    @strawberry.field(description="The version the event concerns, if any and not deleted.")
    async def version(self, info: Info[RequestContext, None]) -> CredentialVersionNode | None:
        event = self.snapshot.event
        if event.version_id is None:
            return None
        version = await info.context.loaders.credentials.version_by_id.load(event.version_id)
        return CredentialVersionNode.from_model(version, event.holder_id) if version else None

    @strawberry.field(description="Whose credential it is; null if the user is gone.")
    async def holder(self, info: Info[RequestContext, None]) -> UserType | None:
        holder = await info.context.loaders.user_by_id.load(self.snapshot.event.holder_id)
        return UserType.from_model(holder) if holder is not None else None

    @strawberry.field
    async def credential_type(self, info: Info[RequestContext, None]) -> CredentialTypeNode | None:
        found = await info.context.loaders.credentials.type_by_id.load(self.snapshot.event.type_id)
        return CredentialTypeNode.from_model(found) if found is not None else None

    @strawberry.field(
        description="Who did it: null for the expiry scheduler, or when not visible to you."
    )
    async def actor(self, info: Info[RequestContext, None]) -> UserType | None:
        actor_id = self.snapshot.event.actor_id
        if actor_id is None:
            return None
        actor = await info.context.loaders.user_by_id.load(actor_id)
        return UserType.from_model(actor) if actor is not None else None

    @strawberry.field(description="VERSION_EDITED: the fields that changed.")
    def changed_fields(self) -> list[str] | None:
        fields = self.snapshot.event.data.get("fields")
        if not isinstance(fields, list):
            return None
        return [API_FIELD_NAMES.get(str(f), str(f)) for f in fields]

    @strawberry.field(description="EXPIRING_SOON: how many days before expiry it was sent.")
    def lead_days(self) -> int | None:
        value = self.snapshot.event.data.get("leadDays")
        return value if isinstance(value, int) else None

    @strawberry.field(description="EXPIRING_SOON and EXPIRED: the expiry date reminded of.")
    def expiry_date(self) -> date | None:
        value = self.snapshot.event.data.get("expiryDate")
        return date.fromisoformat(value) if isinstance(value, str) else None

    @classmethod
    def of(cls, snapshot: EventSnapshot) -> CredentialEventType:
        return cls(
            cursor=event_cursor(snapshot.id),
            kind=snapshot.event.kind,
            occurred_at=snapshot.event.occurred_at,
            snapshot=snapshot,
        )


async def _events(
    info: Info[RequestContext, None],
    kinds: list[CredentialEventKind] | None,
    holder_id: strawberry.ID | None,
    type_id: strawberry.ID | None,
    after: str | None,
) -> AsyncGenerator[CredentialEventType, None]:
    # An id that names nothing matches nothing, like any other filter.
    holder = (key_of(holder_id, "User") or 0) if holder_id is not None else None
    credential_type = (key_of(type_id, "CredentialType") or 0) if type_id is not None else None
    async for snapshot in stream_events(info, kinds, holder, credential_type, after):
        yield CredentialEventType.of(snapshot)


@strawberry.type
class EventQueries:
    @strawberry.field(
        description="A cursor for this moment: load a dashboard, then subscribe to "
        "credentialEvents with it as `after`, and nothing that happens in between is missed."
    )
    async def credential_events_cursor(self, info: Info[RequestContext, None]) -> str:
        return await resolve_event_head(info)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Credential events you may see (your own; those of the people you "
        "manage), as they happen. With `after`, every later event from the log comes "
        "first, then live ones: a client that reconnects with its last cursor loses nothing."
    )
    async def credential_events(
        self,
        info: Info[RequestContext, None],
        kinds: list[CredentialEventKindEnum] | None = None,  # type: ignore[valid-type]
        holder_id: strawberry.ID | None = None,
        type_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[CredentialEventType, None]:
        async for event in _events(info, kinds, holder_id, type_id, after):
            yield event

    @strawberry.subscription(
        description="Submissions and reviews: credentialEvents of SUBMITTED, VERSION_ADDED, "
        "APPROVED and REJECTED."
    )
    async def credential_approval_events(
        self,
        info: Info[RequestContext, None],
        holder_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[CredentialEventType, None]:
        async for event in _events(info, list(APPROVAL_KINDS), holder_id, None, after):
            yield event

    @strawberry.subscription(
        description="Expiry reminders: credentialEvents of EXPIRING_SOON and EXPIRED."
    )
    async def credential_expiry_events(
        self,
        info: Info[RequestContext, None],
        holder_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[CredentialEventType, None]:
        async for event in _events(info, list(EXPIRY_KINDS), holder_id, None, after):
            yield event
