"""The email channel: at send time, whether each person still gets the email (their
choice, their address, an active account, email configured at all), and the message."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import (
    Delivery,
    DeliveryChannel,
    DeliveryKind,
    select_notifications_with_type_name,
    select_recipients,
)
from models.notification import (
    DigestFrequency,
    Notification,
    NotificationSettings,
    select_notification_settings,
)
from models.user import User
from services.delivery.channel import ChannelConnection, Outgoing, Skip
from services.delivery.email.content import Content, build_message, notification_content
from services.delivery.email.smtp import SmtpTarget, smtp_session
from services.delivery.links import credential_link

NOT_CONFIGURED = "email is not configured: set SMTP_URL"


@dataclass(frozen=True)
class EmailConfig:
    """SMTP_URL (None: email is off, and every email is recorded as skipped), SMTP_FROM,
    PUBLIC_URL (links and the Message-ID's domain), SMTP_TIMEOUT_S and the TLS context of
    SMTP_CA_FILE (None: the system's CAs)."""

    target: SmtpTarget | None
    sender: str
    public_url: str | None
    timeout_s: float = 30.0
    tls_context: ssl.SSLContext | None = None

    @property
    def domain(self) -> str:
        """Where Message-IDs are made: the dashboard's host, else the sender's domain."""
        if self.public_url and (host := urlsplit(self.public_url).hostname):
            return host
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


def message_id_of(delivery: Delivery, domain: str) -> str:
    """Stable per delivery: every attempt of one delivery carries the same Message-ID."""
    return f"<delivery-{delivery.id}.{delivery.organization_id}@{domain}>"


@dataclass(frozen=True)
class _Context:
    users: dict[int, User]
    settings: dict[int, NotificationSettings]
    notifications: dict[int, tuple[Notification, str | None]]


class EmailChannel:
    def __init__(self, config: EmailConfig, clock: Callable[[], datetime]) -> None:
        self.config = config
        self._clock = clock

    @property
    def channel(self) -> DeliveryChannel:
        return DeliveryChannel.EMAIL

    async def prepare(
        self, session: AsyncSession, deliveries: Sequence[Delivery]
    ) -> list[Outgoing | Skip]:
        if self.config.target is None:
            return [Skip(d.id, NOT_CONFIGURED) for d in deliveries]
        user_ids = {d.recipient_user_id for d in deliveries if d.recipient_user_id is not None}
        notification_ids = {d.notification_id for d in deliveries if d.notification_id}
        context = _Context(
            users={u.id: u for u in await session.scalars(select_recipients(user_ids))},
            settings={
                s.user_id: s for s in await session.scalars(select_notification_settings(user_ids))
            },
            notifications={
                n.id: (n, name)
                for n, name in await session.execute(
                    select_notifications_with_type_name(notification_ids)
                )
            },
        )
        return [self._prepare_one(delivery, context) for delivery in deliveries]

    def _prepare_one(self, delivery: Delivery, context: _Context) -> Outgoing | Skip:
        user = context.users.get(delivery.recipient_user_id or 0)
        if user is None or not user.is_active:
            return Skip(delivery.id, "the recipient's account is deactivated")
        address = user.email.strip()
        if not address or "@" not in address:
            return Skip(delivery.id, "the recipient has no email address")
        chosen = context.settings.get(user.id) or NotificationSettings.defaults(
            user.organization_id, user.id
        )
        if delivery.kind is DeliveryKind.DIGEST:
            if chosen.digest is DigestFrequency.NONE:
                return Skip(delivery.id, "digests turned off")
        elif not chosen.wants_email(delivery.kind.value):
            return Skip(delivery.id, f"email turned off for {delivery.kind.value}")
        content = self._content(delivery, context, user)
        if content is None:
            return Skip(delivery.id, "nothing to send: the notification no longer exists")
        message_id = message_id_of(delivery, self.config.domain)
        message = build_message(
            content,
            sender=self.config.sender,
            recipient_name=user.name,
            recipient_address=address,
            message_id=message_id,
            sent_at=self._clock(),
        )
        return Outgoing(delivery.id, address, message_id, message)

    def _content(self, delivery: Delivery, context: _Context, user: User) -> Content | None:
        if delivery.payload is not None:
            return Content.from_payload(delivery.payload)
        found = context.notifications.get(delivery.notification_id or 0)
        if found is None:
            return None
        notification, type_name = found
        link = (
            credential_link(self.config.public_url, notification.credential_id)
            if self.config.public_url
            else None
        )
        return notification_content(
            notification.kind, type_name or "credential", notification.data, user.name, link
        )

    def connect(self) -> AbstractAsyncContextManager[ChannelConnection]:
        assert self.config.target is not None, "prepare() skips everything without SMTP_URL"
        return smtp_session(
            self.config.target,
            parseaddr(self.config.sender)[1],
            self.config.timeout_s,
            self.config.domain,
            self.config.tls_context,
        )
