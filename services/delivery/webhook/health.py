"""An endpoint's health: since when every attempt has failed, and after
WEBHOOK_DISABLE_AFTER_DAYS of that, the endpoint is disabled and the people who manage
credentials are told by email (queued in the outbox, like any email)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import DeliveryChannel, DeliveryKind
from models.permission import Permission, granted
from models.webhook import (
    disable_if_failing_since,
    mark_failing,
    select_credential_managers,
    update_endpoint,
)
from services.delivery.links import relay_global_id
from services.delivery.outbox import queue_delivery
from services.delivery.worker import Clock, WriteOne

ScopedTransaction = Callable[[int], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class EndpointHealth:
    write_one: WriteOne
    transaction: ScopedTransaction  # a write transaction scoped to an organization
    clock: Clock
    disable_after: timedelta = timedelta(days=5)
    # Each attempt's duration in seconds and whether it was accepted (metrics).
    on_attempt: Callable[[float, bool], None] | None = None

    def attempted(self, seconds: float, accepted: bool) -> None:
        if self.on_attempt is not None:
            self.on_attempt(seconds, accepted)

    async def succeeded(self, endpoint_id: int, failing_since: datetime | None) -> None:
        if failing_since is not None:
            await self.write_one(update_endpoint(endpoint_id, failing_since=None))

    async def failed(self, endpoint_id: int, organization_id: int, url: str) -> None:
        now = self.clock()
        await self.write_one(mark_failing(endpoint_id, now))
        days = self.disable_after.total_seconds() / 86400
        reason = f"every attempt failed for {days:g} days"
        disabled = await self.write_one(
            disable_if_failing_since(endpoint_id, now - self.disable_after, reason)
        )
        if disabled:
            await self._tell_managers(endpoint_id, organization_id, url, reason, now)

    async def _tell_managers(
        self, endpoint_id: int, organization_id: int, url: str, reason: str, now: datetime
    ) -> None:
        subject = f"Webhook endpoint {url} was disabled"
        text = (
            f"The webhook endpoint {url} was disabled: {reason}.\n"
            "Events are no longer posted to it. Fix the receiver, then resume the endpoint "
            "(resumeWebhookEndpoint) and replay what it missed (replayWebhookEndpoint).\n"
        )
        html = f"<p>{escape(text).replace(chr(10), '<br>')}</p>"
        global_id = relay_global_id("WebhookEndpoint", endpoint_id)
        async with self.transaction(organization_id) as session:
            for user, permissions in (await session.execute(select_credential_managers())).all():
                if Permission.CREDENTIALS_MANAGE not in granted(permissions):
                    continue
                await queue_delivery(
                    session,
                    organization_id=organization_id,
                    channel=DeliveryChannel.EMAIL,
                    kind=DeliveryKind.WEBHOOK_DISABLED,
                    recipient_user_id=user.id,
                    dedupe_key=f"webhook-disabled:{global_id}:{now.isoformat()}:{user.id}",
                    now=now,
                    payload={"subject": subject, "text": text, "html": html},
                )
