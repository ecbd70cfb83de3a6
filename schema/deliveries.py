"""The delivery log: each email (later webhook) the outbox holds, and what became of it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import Info, relay
from strawberry.permission import PermissionExtension

from models.delivery import (
    Delivery,
    DeliveryChannel,
    DeliveryFilter,
    DeliveryKind,
    DeliveryStatus,
)
from resolvers.context import RequestContext
from resolvers.deliveries import resolve_deliveries_by_id, resolve_deliveries_page
from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.ids import key_of, local_ids
from schema.pagination import Connection
from schema.permissions import MayReadRecipientAddress
from schema.user import UserType

DeliveryChannelEnum = strawberry.enum(DeliveryChannel, name="DeliveryChannel")
DeliveryKindEnum = strawberry.enum(
    DeliveryKind,
    name="DeliveryKind",
    description="The notification kind delivered, or DIGEST (a summary of several).",
)
DeliveryStatusEnum = strawberry.enum(
    DeliveryStatus,
    name="DeliveryStatus",
    description="PENDING (waiting, or retrying after a temporary failure), SENT, SKIPPED "
    "(turned off, no address, email not configured: lastError says which) or FAILED "
    "(refused for good, or given up after the last attempt: lastError says why).",
)


@strawberry.type(name="NotificationDelivery")
class DeliveryNode(relay.Node):
    id: relay.NodeID[int]
    channel: DeliveryChannelEnum  # type: ignore[valid-type]
    kind: DeliveryKindEnum  # type: ignore[valid-type]
    status: DeliveryStatusEnum  # type: ignore[valid-type]
    attempts: int
    last_error: str | None = strawberry.field(
        description="Why it was skipped, or the last failure's reason (an SMTP reply)."
    )
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None = strawberry.field(
        description="PENDING: when it is tried (next); null once settled."
    )
    recipient_user_id: strawberry.Private[int]
    address: strawberry.Private[str | None]

    @strawberry.field(
        description="Where it was sent; visible to the recipient and to user managers.",
        extensions=[
            PermissionExtension(permissions=[MayReadRecipientAddress()], fail_silently=True)
        ],
    )
    def recipient_address(self) -> str | None:
        return self.address

    @strawberry.field
    async def recipient(self, info: Info[RequestContext, None]) -> UserType | None:
        found = await info.context.loaders.user_by_id.load(self.recipient_user_id)
        return UserType.from_model(found) if found is not None else None

    @classmethod
    def from_model(cls, delivery: Delivery) -> DeliveryNode:
        pending = delivery.status is DeliveryStatus.PENDING
        return cls(
            id=delivery.id,
            channel=delivery.channel,
            kind=delivery.kind,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            sent_at=delivery.sent_at,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            recipient_user_id=delivery.recipient_user_id or 0,  # webhooks are listed apart
            address=delivery.recipient_address,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[DeliveryNode | None]:
        found = await resolve_deliveries_by_id(info, local_ids(node_ids))
        return [cls.from_model(d) if d is not None else None for d in found]


@strawberry.input(description="Every criterion given must hold.")
class NotificationDeliveryFilterInput:
    status: DeliveryStatusEnum | None = None  # type: ignore[valid-type]
    channel: DeliveryChannelEnum | None = None  # type: ignore[valid-type]
    kind: DeliveryKindEnum | None = None  # type: ignore[valid-type]
    recipient_id: strawberry.ID | None = strawberry.field(
        default=None, description="A user; an id of nothing matches nothing."
    )

    def to_filter(self) -> DeliveryFilter:
        recipient = None if self.recipient_id is None else (key_of(self.recipient_id, "User") or 0)
        return DeliveryFilter(
            status=self.status, channel=self.channel, kind=self.kind, recipient_user_id=recipient
        )


@strawberry.type
class DeliveryQueries:
    @strawberry.field(
        description="Emails (and later other deliveries) of notifications, newest first: "
        "the organization's with CREDENTIALS_MANAGE, else your own."
    )
    async def notification_deliveries(
        self,
        info: Info[RequestContext, None],
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: NotificationDeliveryFilterInput | None = None,
    ) -> Connection[DeliveryNode]:
        delivery_filter = (filter or NotificationDeliveryFilterInput()).to_filter()
        page = await resolve_deliveries_page(info, delivery_filter, first, after)
        return Connection.from_page(page, DeliveryNode.from_model)
