"""The webhook channel: at send time, each delivery's endpoint, its secrets and the
signed request (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature v1,
both secrets' signatures during a rotation's overlap)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from models.delivery import Delivery, DeliveryChannel, DeliveryKind
from models.webhook import WebhookEndpoint, select_endpoints
from services.delivery.channel import ChannelConnection, Outgoing, Skip
from services.delivery.webhook.health import EndpointHealth
from services.delivery.webhook.payload import body_of, event_cursor
from services.delivery.webhook.secrets import SecretBox, SecretUnreadable
from services.delivery.webhook.sender import WebhookRequest, WebhookSender, WebhookSettings


def webhook_id_of(delivery: Delivery) -> str:
    """The event's id (its cursor), the same for every endpoint and attempt: receivers
    drop repeats by it. A ping has an id of its own, kept when it is sent again."""
    if delivery.kind is DeliveryKind.WEBHOOK_PING or delivery.event_id is None:
        token = delivery.dedupe_key.split(":again:")[0].rpartition(":")[2]
        return f"ping_{token}"
    return f"evt_{event_cursor(delivery.event_id)}"


def signature(secrets: Sequence[str], webhook_id: str, at: datetime, body: str) -> str:
    return " ".join(Webhook(secret).sign(webhook_id, at, body) for secret in secrets)


class WebhookChannel:
    def __init__(
        self,
        settings: WebhookSettings,
        box: SecretBox,
        clock: Callable[[], datetime],
        health: EndpointHealth,
    ) -> None:
        self.settings = settings
        self._box = box
        self._clock = clock
        self._health = health

    @property
    def channel(self) -> DeliveryChannel:
        return DeliveryChannel.WEBHOOK

    async def prepare(
        self, session: AsyncSession, deliveries: Sequence[Delivery]
    ) -> list[Outgoing | Skip]:
        ids = {d.webhook_endpoint_id for d in deliveries if d.webhook_endpoint_id is not None}
        endpoints = {e.id: e for e in await session.scalars(select_endpoints(ids))}
        return [self._prepare_one(d, endpoints.get(d.webhook_endpoint_id or 0)) for d in deliveries]

    def _prepare_one(self, delivery: Delivery, endpoint: WebhookEndpoint | None) -> Outgoing | Skip:
        if endpoint is None:
            return Skip(delivery.id, "the endpoint was deleted")
        if delivery.payload is None:
            return Skip(delivery.id, "nothing to send")
        now = self._clock()
        try:
            secrets = [self._box.open(endpoint.organization_id, endpoint.secret_sealed)]
            if (
                endpoint.previous_secret_sealed is not None
                and endpoint.previous_secret_until is not None
                and now < endpoint.previous_secret_until
            ):
                secrets.append(
                    self._box.open(endpoint.organization_id, endpoint.previous_secret_sealed)
                )
        except SecretUnreadable as error:
            return Skip(delivery.id, str(error))
        webhook_id = webhook_id_of(delivery)
        body = body_of(delivery.payload)
        headers = {
            "content-type": "application/json",
            "user-agent": "credentials-webhooks/1",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature(secrets, webhook_id, now, body),
        }
        request = WebhookRequest(
            endpoint.id,
            endpoint.organization_id,
            endpoint.url,
            headers,
            body,
            endpoint.failing_since,
        )
        return Outgoing(delivery.id, endpoint.url, webhook_id, request)

    def connect(self) -> AbstractAsyncContextManager[ChannelConnection]:
        return WebhookSender(self.settings, self._clock, self._health)
