"""Webhooks to a real receiver: signed per Standard Webhooks and verified there with the
`standardwebhooks` package, the payload a credentials manager's subscriber would read,
one delivery per event and endpoint, attempts recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.delivery import DeliveryChannel, DeliveryStatus
from services.delivery.webhook.payload import event_cursor
from services.delivery.worker import Outcome
from tests.delivery.scene import Scene
from tests.delivery.webhook_receiver import Receiver, webhook_receiver
from tests.delivery.webhook_scene import attempts, create_endpoint, deliver, real_time


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as server:
        yield server


async def test_an_approval_reaches_the_receiver_signed_and_verifiable(
    scene: Scene, receiver: Receiver
) -> None:
    # Given an endpoint on a real receiver that knows its secret
    real_time(scene)
    created = await create_endpoint(scene, receiver.url())
    receiver.secrets.append(created.secret)
    assert created.secret.startswith("whsec_")

    # When a credential is submitted and approved, and the worker passes
    credential_id = await scene.approved()
    result = await deliver(scene)

    # Then both events arrived, in order, each verified with the endpoint's secret
    assert result.count(Outcome.SENT, DeliveryChannel.WEBHOOK) == 2
    assert [r.payload["type"] for r in receiver.received] == [
        "credential.submitted",
        "credential.approved",
    ]
    assert all(r.verified_with == (0,) for r in receiver.received)
    approved = receiver.received[1].payload
    assert set(approved) == {"type", "timestamp", "data"}
    data = approved["data"]
    assert data["kind"] == "APPROVED"
    assert data["credential"]["id"] == credential_id
    assert data["credentialType"]["name"] == "First Aid Certificate"
    assert data["version"]["approvalStatus"] == "APPROVED"
    # And webhook-id is the event's, its cursor in the payload: repeats can be dropped
    cursor = data["cursor"]
    assert receiver.received[1].webhook_id == f"evt_{cursor}"
    assert "media" not in str(approved).lower()
    # And each delivery is SENT with one attempt recorded, as sent and answered
    rows = [d for d in await scene.deliveries() if d.channel is DeliveryChannel.WEBHOOK]
    assert [d.status for d in rows] == [DeliveryStatus.SENT] * 2
    assert rows[1].event_id is not None
    assert event_cursor(rows[1].event_id) == cursor
    logged = await attempts(scene)
    assert [(a.response_status, a.error) for a in logged] == [(204, None), (204, None)]
    assert logged[1].request_body.encode() == receiver.received[1].body
    assert logged[1].request_headers["webhook-id"] == f"evt_{cursor}"

    # And a second pass sends nothing again
    assert (await deliver(scene)).counts == {}
    assert len(receiver.received) == 2
