"""Webhook passes: fan the log out to endpoints, then deliver each endpoint in a lane of
its own.

A lane is the worker's pass narrowed to one endpoint (services.delivery.worker
.deliver_lane): lanes run side by side, so a slow or dead endpoint holds up only its
own lane, and within a lane a credential's events go in their order. Lanes outlive the
pass that started them: the next pass starts lanes only for endpoints without one, so a
receiver that takes its full timeout never delays the fan-out or another endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from models.webhook import select_lanes_due
from services.delivery.webhook.channel import WebhookChannel
from services.delivery.webhook.fanout import fan_out, organizations_behind
from services.delivery.worker import (
    Clock,
    DeliveryOptions,
    PassResult,
    SessionFactory,
    WriteOne,
    deliver_lane,
)

logger = logging.getLogger("credentials.delivery")

ScopedFactory = Callable[[int], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class LaneHandles:
    transaction: SessionFactory  # unscoped: claims
    read: SessionFactory  # unscoped: due rows, endpoints
    scoped_transaction: ScopedFactory  # per organization: the fan-out
    write_one: WriteOne


class WebhookLanes:
    def __init__(
        self,
        handles: LaneHandles,
        channel: WebhookChannel,
        clock: Clock,
        options: DeliveryOptions,
        rng: random.Random,
        on_lane_done: Callable[[PassResult], None] | None = None,
    ) -> None:
        self._handles = handles
        self.channel = channel
        self._clock = clock
        self._options = options
        self._rng = rng
        self._on_lane_done = on_lane_done
        self._lanes: dict[int, asyncio.Task[PassResult]] = {}

    @property
    def running(self) -> int:
        return len(self._lanes)

    def lane(self, endpoint_id: int) -> asyncio.Task[PassResult] | None:
        """The endpoint's running lane, if any."""
        return self._lanes.get(endpoint_id)

    async def run_pass(self, wait: bool) -> PassResult:
        """Fans out, starts a lane for each endpoint with something due and none running;
        with `wait`, returns once every lane is done, with what they did."""
        for organization_id in await organizations_behind(self._handles.read):
            await fan_out(self._scoped(organization_id), organization_id, self._clock)
        async with self._handles.read() as session:
            due = [e for e in await session.scalars(select_lanes_due(self._clock())) if e]
        for endpoint_id in due:
            if endpoint_id not in self._lanes:
                task = asyncio.create_task(self._lane(endpoint_id), name=f"webhook-{endpoint_id}")
                self._lanes[endpoint_id] = task
        result = PassResult()
        if wait:
            for outcome in await asyncio.gather(*self._lanes.values()):
                result.counts.update(outcome.counts)
        return result

    def _scoped(self, organization_id: int) -> SessionFactory:
        return lambda: self._handles.scoped_transaction(organization_id)

    async def _lane(self, endpoint_id: int) -> PassResult:
        result = PassResult()
        handles = self._handles
        try:
            await deliver_lane(
                handles.transaction,
                handles.read,
                handles.write_one,
                self.channel,
                endpoint_id,
                self._clock,
                self._options,
                self._rng,
                result,
            )
        except Exception:  # the database may be away: the next pass starts it again
            logger.exception("webhook lane of endpoint %d failed", endpoint_id)
        finally:
            self._lanes.pop(endpoint_id, None)
            if self._on_lane_done is not None:
                self._on_lane_done(result)
        return result

    async def stop(self) -> None:
        """Cancels running lanes: their claimed rows come back when the lease passes."""
        lanes = list(self._lanes.values())
        for task in lanes:
            task.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
