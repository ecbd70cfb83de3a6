"""Webhooks to a real receiver: signed per Standard Webhooks and verified there with the
`standardwebhooks` package, the payload a credentials manager's subscriber would read,
one delivery per event and endpoint, attempts recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from models.base import utcnow
from models.delivery import DeliveryChannel, DeliveryStatus
from server.app import create_app
from server.settings import Settings
from services.delivery.webhook.payload import event_cursor
from services.delivery.worker import Outcome
from tests.clock import TestClock
from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type
from tests.delivery.scene import Scene
from tests.delivery.webhook_receiver import Receiver, webhook_receiver
from tests.delivery.webhook_scene import attempts, create_endpoint, deliver, real_time
from tests.world import World


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


async def test_metrics_count_webhook_deliveries_and_their_latency(
    settings: Settings, world: World, receiver: Receiver
) -> None:
    # Given an app that may post to the receiver, with an endpoint for every kind
    allowed = replace(settings, webhook_allow_private_targets=True)
    app = create_app(allowed, TestClock(utcnow()))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = GraphQLClient(http)
            manager = world.token("credentials_manager")
            created = await client.execute(
                CREATE, {"input": {"url": receiver.url(), "eventKinds": ["APPROVED"]}}, manager
            )
            assert created["data"]["createWebhookEndpoint"]["errors"] == []
            admin = world.token("admin")
            type_id = await create_type(client, admin)
            made = await create_credential(client, admin, type_id, world.user_ids["employee"])
            await approve(client, manager, str(made["id"]))

            # When its worker passes
            await app.state.delivery_worker.run_pass()
            page = (await http.get("/metrics")).text
    finally:
        await app.state.database.dispose()

    # Then the delivery is counted, its POST timed, and nothing waits
    assert 'deliveries_total{channel="WEBHOOK",outcome="sent"} 1.0' in page
    assert 'webhook_attempt_duration_seconds_count{accepted="true"} 1.0' in page
    assert 'deliveries_pending{channel="WEBHOOK"} 0.0' in page
    assert 'deliveries_oldest_pending_age_seconds{channel="WEBHOOK"} 0.0' in page


CREATE = """
mutation C($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { errors { code } }
}
"""
