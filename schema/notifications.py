"""In-app notifications and reminder settings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import strawberry
from strawberry import Info, relay

from models.notification import (
    DigestFrequency,
    Notification,
    NotificationKind,
    NotificationSettings,
)
from resolvers.context import RequestContext
from resolvers.mutations import run_mutation
from resolvers.notifications import (
    resolve_notification_settings,
    resolve_notifications_by_id,
    resolve_notifications_page,
)
from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.credential import CredentialNode
from schema.credential_type import CredentialTypeNode
from schema.ids import key_of, local_ids
from schema.pagination import Connection
from schema.user import UserType
from services.errors import DomainError
from services.notifications.errors import NotificationErrorCode
from services.notifications.inbox import mark_notifications_read
from services.notifications.settings import update_notification_settings

NotificationKindEnum = strawberry.enum(NotificationKind, name="NotificationKind")
NotificationErrorCodeEnum = strawberry.enum(NotificationErrorCode, name="NotificationErrorCode")
DigestFrequencyEnum = strawberry.enum(
    DigestFrequency,
    name="DigestFrequency",
    description="A summary by email of the people one looks after: none, daily or weekly.",
)


@strawberry.type
class NotificationError:
    code: NotificationErrorCodeEnum  # type: ignore[valid-type]
    field: str | None
    message: str

    @classmethod
    def many(cls, errors: list[DomainError]) -> list[NotificationError]:
        return [cls(code=e.code, field=e.field, message=e.message) for e in errors]


@strawberry.type(name="Notification")
class NotificationNode(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKindEnum  # type: ignore[valid-type]
    created_at: datetime
    read_at: datetime | None
    credential_id: strawberry.Private[int]
    type_id: strawberry.Private[int]
    data: strawberry.Private[dict[str, object]]

    @strawberry.field
    def read(self) -> bool:
        return self.read_at is not None

    @strawberry.field(description="RESUBMISSION_REQUESTED: why the version was rejected.")
    def reason(self) -> str | None:
        value = self.data.get("reason")
        return value if isinstance(value, str) else None

    @strawberry.field(description="EXPIRING_SOON and EXPIRED: the expiry date.")
    def expiry_date(self) -> date | None:
        value = self.data.get("expiryDate")
        return date.fromisoformat(value) if isinstance(value, str) else None

    @strawberry.field(description="EXPIRING_SOON: the reminder stage (lead time) it was sent at.")
    def lead_days(self) -> int | None:
        value = self.data.get("leadDays")
        return value if isinstance(value, int) else None

    @strawberry.field(
        description="EXPIRING_SOON: days left when it was sent (fewer than the lead time "
        "when the stage was reached before the reminder could be sent, e.g. a late approval)."
    )
    def days_left(self) -> int | None:
        value = self.data.get("daysLeft", self.data.get("leadDays"))
        return value if isinstance(value, int) else None

    @strawberry.field(description="The credential; null once deleted.")
    async def credential(self, info: Info[RequestContext, None]) -> CredentialNode | None:
        found = await info.context.loaders.credentials.credential_by_id.load(self.credential_id)
        return CredentialNode.from_model(found) if found is not None else None

    @strawberry.field
    async def credential_type(self, info: Info[RequestContext, None]) -> CredentialTypeNode | None:
        found = await info.context.loaders.credentials.type_by_id.load(self.type_id)
        return CredentialTypeNode.from_model(found) if found is not None else None

    @strawberry.field(description="One line for the user, in plain words.")
    async def message(self, info: Info[RequestContext, None]) -> str:
        found = await info.context.loaders.credentials.type_by_id.load(self.type_id)
        name = found.name if found is not None else "A credential"
        if self.kind is NotificationKind.APPROVED:
            return f"Your {name} was approved."
        if self.kind is NotificationKind.RESUBMISSION_REQUESTED:
            return f"Your {name} needs to be resubmitted: {self.reason()}"
        if self.kind is NotificationKind.EXPIRED:
            return f"Your {name} expired on {self.data.get('expiryDate')}."
        days = self.days_left()
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        return f"Your {name} expires {when} ({self.data.get('expiryDate')})."

    @classmethod
    def from_model(cls, notification: Notification) -> NotificationNode:
        return cls(
            id=notification.id,
            kind=notification.kind,
            created_at=notification.created_at,
            read_at=notification.read_at,
            credential_id=notification.credential_id,
            type_id=notification.type_id,
            data=notification.data,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[NotificationNode | None]:
        found = await resolve_notifications_by_id(info, local_ids(node_ids))
        return [cls.from_model(n) if n is not None else None for n in found]


@strawberry.type(description="How one kind of notification reaches the user.")
class NotificationChannelSetting:
    kind: NotificationKindEnum  # type: ignore[valid-type]
    in_app: bool = strawberry.field(description="Always true: every notification is listed.")
    email: bool = strawberry.field(
        description="Also by email (sent when the service has email configured)."
    )


@strawberry.type(name="NotificationSettings")
class NotificationSettingsType:
    expiry_reminders: bool = strawberry.field(
        description="Whether EXPIRING_SOON and EXPIRED reminders are sent for the user's "
        "credentials."
    )
    lead_times_days: list[int] = strawberry.field(
        description="Days before expiry to remind at, longest first; 0 is the expiry day."
    )
    digest: DigestFrequencyEnum = strawberry.field(  # type: ignore[valid-type]
        description="A summary by email of the people the user looks after (NONE unless "
        "chosen; only for those who look after others)."
    )
    user_id: strawberry.Private[int]
    email_off: strawberry.Private[list[str]]

    @strawberry.field(description="Each notification kind's channels.")
    def channels(self) -> list[NotificationChannelSetting]:
        return [
            NotificationChannelSetting(
                kind=kind, in_app=True, email=kind.value not in self.email_off
            )
            for kind in NotificationKind
        ]

    @strawberry.field
    async def user(self, info: Info[RequestContext, None]) -> UserType | None:
        found = await info.context.loaders.user_by_id.load(self.user_id)
        return UserType.from_model(found) if found is not None else None

    @classmethod
    def from_model(cls, settings: NotificationSettings) -> NotificationSettingsType:
        return cls(
            expiry_reminders=settings.expiry_reminders,
            lead_times_days=list(settings.lead_days),
            digest=settings.digest,
            user_id=settings.user_id,
            email_off=list(settings.email_off),
        )


@strawberry.type
class NotificationSettingsPayload:
    settings: NotificationSettingsType | None = None
    errors: list[NotificationError] = strawberry.field(default_factory=list)


@strawberry.type
class MarkNotificationsReadPayload:
    notifications: list[NotificationNode] = strawberry.field(default_factory=list)
    errors: list[NotificationError] = strawberry.field(default_factory=list)


@strawberry.input
class NotificationChannelInput:
    kind: NotificationKindEnum  # type: ignore[valid-type]
    email: bool


@strawberry.input
class UpdateNotificationSettingsInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Whose settings; yourself when left out."
    )
    expiry_reminders: bool | None = None
    lead_times_days: list[int] | None = strawberry.field(
        default=None, description="Replaces the lead times: 0 to 365 days, at most 10."
    )
    channels: list[NotificationChannelInput] | None = strawberry.field(
        default=None,
        description="Email on or off per kind; kinds left out keep their choice. In-app "
        "notifications are always on.",
    )
    digest: DigestFrequencyEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="DAILY or WEEKLY only for those who look after others "
        "(DIGEST_NOT_AVAILABLE otherwise).",
    )


def _user_key(info: Info[RequestContext, None], user_id: strawberry.ID | None) -> int | None:
    if user_id is None:
        return info.context.require_viewer().user_id
    return key_of(user_id, "User")


def _not_found(field: str, what: str) -> list[NotificationError]:
    message = f"{what} doesn't exist."
    return [NotificationError(code=NotificationErrorCode.NOT_FOUND, field=field, message=message)]


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="Your notifications, newest first.")
    async def notifications(
        self,
        info: Info[RequestContext, None],
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[NotificationNode]:
        page = await resolve_notifications_page(info, first, after, unread_only)
        return Connection.from_page(page, NotificationNode.from_model)

    @strawberry.field(
        description="A user's reminder settings (yours when userId is left out); null "
        "unless it is you or you have USERS_MANAGE."
    )
    async def notification_settings(
        self, info: Info[RequestContext, None], user_id: strawberry.ID | None = None
    ) -> NotificationSettingsType | None:
        key = _user_key(info, user_id)
        found = await resolve_notification_settings(info, key) if key is not None else None
        return NotificationSettingsType.from_model(found) if found is not None else None


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Change a user's reminder settings: your own, or anyone's with USERS_MANAGE."
    )
    async def update_notification_settings(
        self, info: Info[RequestContext, None], input: UpdateNotificationSettingsInput
    ) -> NotificationSettingsPayload:
        user_id = _user_key(info, input.user_id)
        if user_id is None:
            return NotificationSettingsPayload(errors=_not_found("userId", "User"))
        outcome = await run_mutation(
            info,
            lambda session, viewer, now: update_notification_settings(
                session,
                viewer,
                now,
                user_id=user_id,
                expiry_reminders=input.expiry_reminders,
                lead_days=input.lead_times_days,
                channels=(
                    [(c.kind, c.email) for c in input.channels]
                    if input.channels is not None
                    else None
                ),
                digest=input.digest,
            ),
        )
        if outcome.value is None:
            return NotificationSettingsPayload(errors=NotificationError.many(outcome.errors))
        return NotificationSettingsPayload(
            settings=NotificationSettingsType.from_model(outcome.value)
        )

    @strawberry.mutation(description="Mark your notifications read; at most 100 at once.")
    async def mark_notifications_read(
        self, info: Info[RequestContext, None], ids: list[strawberry.ID]
    ) -> MarkNotificationsReadPayload:
        keys = [key_of(i, "Notification") for i in ids]
        outcome = await run_mutation(
            info,
            lambda session, viewer, now: mark_notifications_read(session, viewer, now, keys),
        )
        if outcome.value is None:
            return MarkNotificationsReadPayload(errors=NotificationError.many(outcome.errors))
        return MarkNotificationsReadPayload(
            notifications=[NotificationNode.from_model(n) for n in outcome.value]
        )
