"""What a channel (email, later webhooks) gives the worker: per claimed delivery, what to
send or why not; and a connection that sends, reused for a batch."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from models.delivery import Delivery, DeliveryChannel


@dataclass(frozen=True)
class Outgoing:
    """One message, ready to send."""

    delivery_id: int
    address: str  # where it goes, recorded as sent
    message_id: str  # stable per delivery: repeats are recognizable
    content: Any  # the channel's own form (for email, the message's bytes)


@dataclass(frozen=True)
class Skip:
    """Not sent, and never will be: the reason is recorded."""

    delivery_id: int
    reason: str


class DeliveryFailure(Exception):
    """A send (or the connection for it) failed. Temporary failures are retried with
    backoff; permanent ones fail the delivery at once. `unreachable`: the destination
    cannot be reached at all, so the rest of the batch would fail the same way."""

    def __init__(self, reason: str, *, temporary: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary
        self.unreachable = unreachable


class ChannelConnection(Protocol):
    async def send(self, outgoing: Outgoing) -> None:
        """Sends one message; raises DeliveryFailure."""


class Channel(Protocol):
    @property
    def channel(self) -> DeliveryChannel: ...

    async def prepare(
        self, session: AsyncSession, deliveries: Sequence[Delivery]
    ) -> list[Outgoing | Skip]:
        """Decides at send time, for each delivery in order, what to send or why not
        (choices and addresses may have changed since it was queued)."""

    def connect(self) -> AbstractAsyncContextManager[ChannelConnection]:
        """A connection for one batch; entering it may raise DeliveryFailure."""
