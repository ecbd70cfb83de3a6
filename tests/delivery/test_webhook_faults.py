"""Webhook faults against a real receiver: refused N times then accepted on the retry
schedule (the test's clock, no sleeping), given up after the last attempt, a receiver
that never answers (the timeout) while another endpoint is served, a name that turns
into a loopback address after creation (DNS rebinding), and an endpoint failing for
five days disabled with its managers told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from models.delivery import Delivery, DeliveryChannel, DeliveryKind, DeliveryStatus
from models.event import CredentialEventKind
from models.tenancy import scoped_to, unscoped
from models.webhook import WebhookEndpointStatus
from server.settings import DEFAULT_WEBHOOK_RETRY_SCHEDULE_S
from services.delivery.webhook import endpoints
from services.delivery.webhook.targets import TargetPolicy
from services.delivery.worker import Outcome
from tests.delivery.scene import Scene
from tests.delivery.webhook_receiver import Receiver, webhook_receiver
from tests.delivery.webhook_scene import (
    attempts,
    create_endpoint,
    deliver,
    endpoint_row,
    manager,
    real_time,
    tools,
    webhook_worker,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as server:
        yield server


async def webhook_rows(scene: Scene) -> list[Delivery]:
    return [d for d in await scene.deliveries() if d.channel is DeliveryChannel.WEBHOOK]


def test_the_default_schedule_retries_for_at_least_24_hours() -> None:
    # Each delay may come 10% early: the sum still passes a day
    assert sum(DEFAULT_WEBHOOK_RETRY_SCHEDULE_S) * 0.9 >= 24 * 3600


async def test_refused_three_times_then_accepted_on_the_schedule(
    scene: Scene, receiver: Receiver
) -> None:
    # Given an endpoint for approvals whose receiver answers 500 three times
    created = await create_endpoint(scene, receiver.url(), kinds=[_approved()])
    receiver.secrets.append(created.secret)
    await scene.approved()
    receiver.fail_next = 3
    delays = []

    # When the worker passes each time the retry is due
    for _ in range(3):
        result = await deliver(scene)
        assert result.count(Outcome.RETRIED, DeliveryChannel.WEBHOOK) == 1
        [row] = await webhook_rows(scene)
        delays.append(row.next_attempt_at - scene.clock.now)
        scene.clock.now = row.next_attempt_at
    real_time(scene)  # the receiver checks the timestamp of the one it accepts
    final = await deliver(scene)

    # Then the delays followed the schedule (within its jitter) and the fourth went
    assert final.count(Outcome.SENT, DeliveryChannel.WEBHOOK) == 1
    for delay, planned in zip(delays, DEFAULT_WEBHOOK_RETRY_SCHEDULE_S, strict=False):
        assert timedelta(seconds=planned * 0.9) <= delay <= timedelta(seconds=planned * 1.1)
    [row] = await webhook_rows(scene)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 4, None)
    assert [a.response_status for a in await attempts(scene)] == [500, 500, 500, 204]
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert receiver.received[-1].verified_with == (0,)


async def test_the_last_attempt_of_the_schedule_fails_the_delivery(
    scene: Scene, receiver: Receiver
) -> None:
    await create_endpoint(scene, receiver.url(), kinds=[_approved()])
    await scene.approved()
    receiver.fail_next = 10
    for _ in range(3):
        await deliver(scene, webhook_retry_schedule_s=(5, 10))
        [row] = await webhook_rows(scene)
        scene.clock.now = max(scene.clock.now, row.next_attempt_at)
    [row] = await webhook_rows(scene)
    assert row.status is DeliveryStatus.FAILED
    assert row.last_error == "gave up after 3 attempts: HTTP 500"
    assert (await deliver(scene, webhook_retry_schedule_s=(5, 10))).counts == {}


async def test_a_hanging_receiver_times_out_and_never_delays_another_endpoint(
    scene: Scene, receiver: Receiver
) -> None:
    # Given two endpoints: one on a receiver that never answers, one on a healthy one
    real_time(scene)
    with webhook_receiver() as healthy:
        slow = await create_endpoint(scene, receiver.url(), kinds=[_approved()])
        fast = await create_endpoint(scene, healthy.url(), kinds=[_approved()])
        healthy.secrets.append(fast.secret)
        receiver.hang = True
        await scene.approved()
        worker = webhook_worker(scene, webhook_timeout_s=2)

        # When the worker passes without waiting for its lanes (as in the service)
        await worker.run_pass(wait_for_lanes=False)
        fast_lane = worker.webhooks.lane(fast.endpoint.id)
        slow_lane = worker.webhooks.lane(slow.endpoint.id)
        assert fast_lane is not None
        assert slow_lane is not None
        fast_result = await fast_lane

        # Then the healthy endpoint has its event while the other is still waiting
        assert fast_result.count(Outcome.SENT, DeliveryChannel.WEBHOOK) == 1
        assert [r.payload["type"] for r in healthy.verified()] == ["credential.approved"]
        assert not slow_lane.done()
        assert receiver.holding.is_set()

        # And the hanging one gives up at the timeout, to be retried
        slow_result = await slow_lane
    assert slow_result.count(Outcome.RETRIED, DeliveryChannel.WEBHOOK) == 1
    [timed_out] = [a for a in await attempts(scene) if a.error]
    assert timed_out.error == "no answer within 2 s"
    assert timed_out.response_status is None


async def test_a_name_that_turns_into_loopback_after_creation_is_refused_at_delivery(
    scene: Scene, receiver: Receiver
) -> None:
    # Given an endpoint whose name resolved to a public address when it was created
    public_only = TargetPolicy(allow_http=True, allow_private=False)

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    async def rebound(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    viewer = await manager(scene)
    box = tools(scene).box
    async with scene.database.transaction(scoped_to(viewer.organization_id)) as session:
        created = await endpoints.create_endpoint(
            session,
            viewer,
            endpoints.EndpointChanges(
                url=f"http://hooks.example.test:{receiver.port}/hook", event_kinds=[_approved()]
            ),
            endpoints.WebhookTools(public_only, public, box),
            scene.clock(),
        )
    await scene.approved()

    # When, at delivery, the name resolves to loopback (where the receiver listens)
    worker = webhook_worker(scene, rebound, webhook_allow_private_targets=False)
    result = await worker.run_pass()

    # Then nothing is posted, and the attempt says why
    assert result.count(Outcome.RETRIED, DeliveryChannel.WEBHOOK) == 1
    assert receiver.received == []
    [attempt] = await attempts(scene)
    assert attempt.error is not None
    assert "resolves to 127.0.0.1, a loopback address" in attempt.error
    assert (await endpoint_row(scene, created.endpoint.id)).failing_since == scene.clock.now


async def test_an_endpoint_failing_for_five_days_is_disabled_and_its_managers_told(
    scene: Scene, receiver: Receiver
) -> None:
    # Given an endpoint whose receiver refuses everything
    created = await create_endpoint(scene, receiver.url(), kinds=[_approved()])
    receiver.fail_next = 1000
    await scene.approved()
    await deliver(scene)
    started = scene.clock.now
    assert (await endpoint_row(scene, created.endpoint.id)).failing_since == started

    # When it still fails a little under five days later, it stays active
    scene.clock.now = started + timedelta(days=5) - timedelta(minutes=1)
    await scene.approved(type_name="Forklift Licence")
    await deliver(scene)
    assert (await endpoint_row(scene, created.endpoint.id)).status is WebhookEndpointStatus.ACTIVE

    # And once it has failed for five days, the next failure disables it
    scene.clock.now = started + timedelta(days=5, minutes=1)
    await scene.approved(type_name="Crane Licence")
    await deliver(scene)
    endpoint = await endpoint_row(scene, created.endpoint.id)
    assert endpoint.status is WebhookEndpointStatus.DISABLED
    assert endpoint.disabled_reason == "every attempt failed for 5 days"

    # Then the credentials managers get an email saying so, and nothing more is posted
    async with scene.database.read(unscoped()) as session:
        told = list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == DeliveryKind.WEBHOOK_DISABLED)
            )
        )
    assert {d.recipient_user_id for d in told} == {
        scene.world.user_ids[role] for role in _credential_managers(scene)
    }
    assert told[0].payload is not None
    assert receiver.url() in told[0].payload["subject"]
    posted = len(receiver.received)
    scene.clock.now += timedelta(days=1)
    await deliver(scene)
    assert len(receiver.received) == posted


def _approved() -> CredentialEventKind:
    return CredentialEventKind.APPROVED


def _credential_managers(scene: Scene) -> list[str]:
    return [role for role in ("credentials_manager", "admin") if role in scene.world.user_ids]
