"""One worker pass: claim due deliveries, send them, record each outcome.

Never inside a transaction that anything else waits on: a claim is one short transaction
(the rows' lease is set and committed), sending happens outside any transaction over one
connection per batch, and each outcome is recorded in a short transaction of its own. A
worker that dies mid-batch leaves its rows claimed until the lease passes; then another
pass takes them again. Only the send under way at the crash can be repeated, and every
message carries its delivery's Message-ID, so the repeat is recognizable.

Channels are delivered side by side: a slow or dead destination delays only its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase

from models.delivery import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    select_due,
    select_first_due,
    settle,
)
from services.delivery.backoff import retry_delay, scheduled_delay
from services.delivery.channel import Channel, DeliveryFailure, Outgoing, Skip

logger = logging.getLogger("credentials.delivery")

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# Runs one DML statement as a transaction of its own; the rows it changed.
WriteOne = Callable[[UpdateBase], Awaitable[int]]
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DeliveryOptions:
    # Rows claimed at once, sent over one connection: the claim, the reads that prepare
    # them and the SMTP greeting are paid once per batch.
    batch_size: int = 100
    # How long a claim holds. A send is begun only while the lease outlasts it by
    # `send_timeout`, so no other worker takes a row while it is being sent.
    lease: timedelta = timedelta(minutes=5)
    send_timeout: timedelta = timedelta(seconds=30)
    max_attempts: int = 8
    retry_base: timedelta = timedelta(minutes=1)
    retry_cap: timedelta = timedelta(hours=6)
    # Delays between attempts, in order (webhooks): when given, a delivery is tried once
    # more than the schedule has delays, then FAILED; max_attempts and retry_base unused.
    retry_schedule: tuple[timedelta, ...] = ()

    @property
    def attempts_allowed(self) -> int:
        return len(self.retry_schedule) + 1 if self.retry_schedule else self.max_attempts

    def delay_after(self, attempts: int, rng: random.Random) -> timedelta:
        if self.retry_schedule:
            return scheduled_delay(attempts, self.retry_schedule, rng)
        return retry_delay(attempts, self.retry_base, self.retry_cap, rng)


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    RETRIED = "retried"  # a temporary failure, tried again later
    FAILED = "failed"
    RELEASED = "released"  # claimed but not tried: the lease ran short


@dataclass
class PassResult:
    counts: Counter[tuple[DeliveryChannel, Outcome]] = field(default_factory=Counter)

    def count(self, outcome: Outcome, channel: DeliveryChannel | None = None) -> int:
        return sum(n for (c, o), n in self.counts.items() if o is outcome and channel in (None, c))


@dataclass(frozen=True)
class _Claim:
    rows: list[Delivery]
    selected: int  # rows the claim looked at, given up ones included
    lease_end: datetime


async def deliver_due(
    transaction: SessionFactory,
    read: SessionFactory,
    write_one: WriteOne,
    channels: Sequence[Channel],
    clock: Clock,
    options: DeliveryOptions,
    rng: random.Random | None = None,
) -> PassResult:
    """Delivers everything due now, batch after batch, each channel beside the others."""
    result = PassResult()
    await asyncio.gather(
        *(
            _Pass(
                transaction,
                read,
                write_one,
                channel,
                clock,
                options,
                rng or random.Random(),
                result,
            ).run()
            for channel in channels
        )
    )
    return result


async def deliver_lane(
    transaction: SessionFactory,
    read: SessionFactory,
    write_one: WriteOne,
    channel: Channel,
    lane: int,
    clock: Clock,
    options: DeliveryOptions,
    rng: random.Random,
    result: PassResult,
) -> None:
    """Delivers everything due now of one lane (a webhook endpoint), batch after batch:
    the same claim, lease, backoff and record as a channel's pass, narrowed to the lane,
    and each row only once its credential's earlier rows are settled."""
    await _Pass(transaction, read, write_one, channel, clock, options, rng, result, lane).run()


@dataclass
class _Pass:
    transaction: SessionFactory
    read: SessionFactory
    write_one: WriteOne
    channel: Channel
    clock: Clock
    options: DeliveryOptions
    rng: random.Random
    result: PassResult
    lane: int | None = None

    async def run(self) -> None:
        while True:
            if not await self._anything_due():
                return
            claim = await self._claim()
            if claim.rows:
                await self._deliver(claim)
            # A lane's claim holds one row per credential: the next ones become due
            # as these are settled, so a lane goes on while its claims find rows.
            done = not claim.selected if self.lane is not None else None
            if done or (done is None and claim.selected < self.options.batch_size):
                return

    async def _anything_due(self) -> bool:
        async with self.read() as session:
            found = await session.scalar(
                select_first_due(self.channel.channel, self.clock(), self.lane)
            )
        return found is not None

    async def _claim(self) -> _Claim:
        now = self.clock()
        lease_end = now + self.options.lease
        async with self.transaction() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            due = list(
                await session.scalars(
                    select_due(
                        self.channel.channel, now, self.options.batch_size, postgres, self.lane
                    )
                )
            )
            rows = []
            for row in due:
                if row.attempts >= self.options.attempts_allowed:
                    # Its last attempt's worker died mid-send: no more tries.
                    row.status = DeliveryStatus.FAILED
                    row.claimed_until = None
                    row.last_error = (
                        f"gave up after {row.attempts} attempts: the last one was interrupted"
                    )
                    self._count(Outcome.FAILED)
                    continue
                row.attempts += 1
                row.claimed_until = lease_end
                row.next_attempt_at = lease_end  # due again if this worker dies
                rows.append(row)
        return _Claim(rows, len(due), lease_end)

    async def _deliver(self, claim: _Claim) -> None:
        async with self.read() as session:
            prepared = await self.channel.prepare(session, claim.rows)
        attempts = {row.id: row.attempts for row in claim.rows}
        outgoing: list[Outgoing] = []
        for item in prepared:
            if isinstance(item, Skip):
                await self._record(
                    item.delivery_id,
                    claim.lease_end,
                    Outcome.SKIPPED,
                    status=DeliveryStatus.SKIPPED,
                    last_error=item.reason,
                )
            else:
                outgoing.append(item)
        if not outgoing:
            return
        try:
            async with self.channel.connect() as connection:
                while outgoing:
                    if self.clock() + self.options.send_timeout >= claim.lease_end:
                        break  # the rest is released below: another pass takes it
                    item = outgoing.pop(0)
                    try:
                        await connection.send(item)
                    except DeliveryFailure as failure:
                        await self._failed(item, attempts[item.delivery_id], claim, failure)
                        if failure.unreachable:
                            await self._fail_all(outgoing, attempts, claim, failure)
                    else:
                        await self._sent(item, claim)
        except DeliveryFailure as failure:  # connecting failed: nothing was sent
            await self._fail_all(outgoing, attempts, claim, failure)
        for item in outgoing:
            await self._record(
                item.delivery_id,
                claim.lease_end,
                Outcome.RELEASED,
                attempts=attempts[item.delivery_id] - 1,
                next_attempt_at=self.clock(),
            )

    async def _fail_all(
        self,
        items: list[Outgoing],
        attempts: dict[int, int],
        claim: _Claim,
        failure: DeliveryFailure,
    ) -> None:
        while items:
            item = items.pop(0)
            await self._failed(item, attempts[item.delivery_id], claim, failure)

    async def _sent(self, item: Outgoing, claim: _Claim) -> None:
        await self._record(
            item.delivery_id,
            claim.lease_end,
            Outcome.SENT,
            status=DeliveryStatus.SENT,
            sent_at=self.clock(),
            recipient_address=item.address,
            message_id=item.message_id,
            last_error=None,
        )

    async def _failed(
        self, item: Outgoing, attempts: int, claim: _Claim, failure: DeliveryFailure
    ) -> None:
        sent_to = {"recipient_address": item.address, "message_id": item.message_id}
        if not failure.temporary:
            await self._record(
                item.delivery_id,
                claim.lease_end,
                Outcome.FAILED,
                status=DeliveryStatus.FAILED,
                last_error=failure.reason,
                **sent_to,
            )
        elif attempts >= self.options.attempts_allowed:
            await self._record(
                item.delivery_id,
                claim.lease_end,
                Outcome.FAILED,
                status=DeliveryStatus.FAILED,
                last_error=f"gave up after {attempts} attempts: {failure.reason}",
                **sent_to,
            )
        else:
            delay = self.options.delay_after(attempts, self.rng)
            await self._record(
                item.delivery_id,
                claim.lease_end,
                Outcome.RETRIED,
                next_attempt_at=self.clock() + delay,
                last_error=failure.reason,
                **sent_to,
            )

    async def _record(
        self, delivery_id: int, lease_end: datetime, outcome: Outcome, **values: Any
    ) -> None:
        """One outcome, in a transaction of its own (one statement), while the claim is
        still ours: committed before the next send begins, so a crash repeats at most the
        send under way."""
        updated = await self.write_one(settle(delivery_id, lease_end, claimed_until=None, **values))
        if updated == 0:
            logger.warning(
                "delivery %d: its lease passed before the outcome (%s) was recorded",
                delivery_id,
                outcome,
            )
            return
        self._count(outcome)
        if outcome in (Outcome.RETRIED, Outcome.FAILED):
            logger.warning(
                "delivery %d %s: %s", delivery_id, outcome.value, values.get("last_error")
            )

    def _count(self, outcome: Outcome) -> None:
        self.result.counts[(self.channel.channel, outcome)] += 1
