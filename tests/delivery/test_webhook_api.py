"""Webhook endpoints over the API: the secret shown once, refusals of targets inside the
network and of http in prod, rotation signed with both secrets, pause and resume, ping,
the delivery log with its attempts, redelivery and replay; one organization never sees
or acts on another's endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from models.base import utcnow
from models.tenancy import unscoped
from models.webhook import WebhookEndpoint
from server.database import Database
from server.settings import Environment, Settings
from tests.clock import TestClock
from tests.conftest import client_on
from tests.credentials.factories import local_key
from tests.delivery.scene import Scene
from tests.delivery.webhook_receiver import Receiver, webhook_receiver
from tests.delivery.webhook_scene import deliver, endpoint_row
from tests.world import World

FIELDS = "id url status eventKinds disabledReason previousSecretUntil"
CREATE = f"""
mutation C($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    secret endpoint {{ {FIELDS} }} errors {{ code field message }}
  }}
}}
"""
LIST = f"{{ webhookEndpoints {{ {FIELDS} }} }}"
ROTATE = """
mutation R($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id previousSecretUntil }
  errors { code } } }
"""
PAUSE = """
mutation P($id: ID!) { pauseWebhookEndpoint(id: $id) { endpoint { status } errors { code } } }
"""
RESUME = """
mutation P($id: ID!) { resumeWebhookEndpoint(id: $id) { endpoint { status } errors { code } } }
"""
PING = """
mutation P($id: ID!) { pingWebhookEndpoint(id: $id) { delivery { id webhookId } errors { code } } }
"""
DELETE = "mutation D($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId errors { code } } }"
DELIVERIES = """
query L($id: ID!, $status: DeliveryStatus) {
  webhookDeliveries(endpointId: $id, filter: { status: $status }) {
    edges { node { id webhookId kind status attempts eventCursor
      attemptLog { responseStatus responseBody durationMs error requestBody
        requestHeaders { name value } } } }
  }
}
"""
REDELIVER = """
mutation R($id: ID!) {
  redeliverWebhook(deliveryId: $id) { delivery { webhookId } errors { code } }
}
"""
REPLAY = """
mutation R($id: ID!, $after: String!) {
  replayWebhookEndpoint(id: $id, after: $after) { queued complete errors { code } }
}
"""


@pytest.fixture
async def wscene(settings: Settings, database: Database, world: World) -> AsyncIterator[Scene]:
    """The scene with an API that may post to loopback (the receiver), on real time."""
    allowed = replace(settings, webhook_allow_private_targets=True)
    clock = TestClock(utcnow())
    async with client_on(allowed, clock) as client:
        yield Scene(allowed, database, client, clock, world)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as server:
        yield server


async def _create(scene: Scene, url: str, role: str = "credentials_manager", **more: Any) -> Any:
    body = await scene.client.execute(
        CREATE,
        {"input": {"url": url, "eventKinds": ["APPROVED"], **more}},
        scene.world.token(role),
    )
    return body["data"]["createWebhookEndpoint"]


async def test_the_secret_is_shown_once_and_the_list_is_the_organizations(
    wscene: Scene, receiver: Receiver
) -> None:
    created = await _create(wscene, receiver.url(), description="HR system")
    assert created["errors"] == []
    assert created["secret"].startswith("whsec_")
    listed = await wscene.client.execute(LIST, None, wscene.world.token("credentials_manager"))
    assert listed["data"]["webhookEndpoints"] == [created["endpoint"]]
    assert "secret" not in str(listed)
    # Another organization's admin sees none of it and cannot act on it
    south = wscene.world.token("south_admin")
    assert (await wscene.client.execute(LIST, None, south))["data"]["webhookEndpoints"] == []
    endpoint_id = created["endpoint"]["id"]
    for operation in (ROTATE, PAUSE, RESUME, PING, DELETE):
        body = await wscene.client.execute(operation, {"id": endpoint_id}, south)
        assert [e["code"] for e in next(iter(body["data"].values()))["errors"]] == ["NOT_FOUND"]
    deliveries = await wscene.client.execute(DELIVERIES, {"id": endpoint_id}, south)
    assert deliveries["data"]["webhookDeliveries"]["edges"] == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://127.0.0.1/hook", "TARGET_REFUSED"),
        ("https://10.0.0.1/hook", "TARGET_REFUSED"),
        ("https://169.254.169.254/latest/meta-data", "TARGET_REFUSED"),
        ("https://[::1]/hook", "TARGET_REFUSED"),
        ("https://localhost/hook", "TARGET_REFUSED"),  # a name resolving to loopback
        ("ftp://example.com/hook", "INVALID_URL"),
        ("https://user:pw@example.com/hook", "INVALID_URL"),
    ],
)
async def test_targets_inside_the_network_are_refused_at_creation(
    scene: Scene, url: str, code: str
) -> None:
    created = await _create(scene, url)
    assert [(e["code"], e["field"]) for e in created["errors"]] == [(code, "url")]
    assert created["endpoint"] is None
    listed = await scene.client.execute(LIST, None, scene.world.token("credentials_manager"))
    assert listed["data"]["webhookEndpoints"] == []


async def test_http_is_refused_in_prod(
    settings: Settings, database: Database, world: World
) -> None:
    prod = replace(
        settings,
        environment=Environment.PROD,
        secret_key="a-production-secret-key-of-forty-characters",
        load_demo_data=False,
        webhook_allow_private_targets=True,
    )
    async with client_on(prod) as client:
        scene = Scene(prod, database, client, TestClock(utcnow()), world)
        created = await _create(scene, "http://127.0.0.1:9/hook")
    assert [e["code"] for e in created["errors"]] == ["INVALID_URL"]
    assert "https://" in created["errors"][0]["message"]


@pytest.mark.parametrize("role", ["employee", "users_manager", "company_manager", "acme_worker"])
async def test_only_credentials_managers_manage_endpoints(scene: Scene, role: str) -> None:
    created = await _create(scene, "https://example.com/hook", role=role)
    assert [e["code"] for e in created["errors"]] == ["PERMISSION_DENIED"]
    listed = await scene.client.post(LIST, None, scene.world.token(role))
    assert listed.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rotation_signs_with_both_secrets_then_only_the_new_one(
    wscene: Scene, receiver: Receiver
) -> None:
    manager = wscene.world.token("credentials_manager")
    created = await _create(wscene, receiver.url())
    old_secret, endpoint_id = created["secret"], created["endpoint"]["id"]
    rotated = (await wscene.client.execute(ROTATE, {"id": endpoint_id}, manager))["data"][
        "rotateWebhookSecret"
    ]
    new_secret = rotated["secret"]
    assert new_secret != old_secret
    receiver.secrets.extend([old_secret, new_secret])

    await wscene.approved()
    await deliver(wscene)
    # Within the overlap: two signatures, each secret verifies the request alone
    [during] = receiver.received
    assert during.verified_with == (0, 1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2

    # And the overlap ends 24 hours after the rotation
    row = await endpoint_row(wscene, local_key(endpoint_id))
    assert row.previous_secret_until is not None
    assert row.previous_secret_until - wscene.clock.now <= timedelta(hours=24)
    assert row.previous_secret_until - wscene.clock.now > timedelta(hours=23, minutes=59)

    # When 24 hours have passed (the receiver checks timestamps against its own clock, so
    # the overlap is moved into the past rather than the clock into the future)
    async with wscene.database.transaction(unscoped()) as session:
        await session.execute(
            update(WebhookEndpoint).values(previous_secret_until=wscene.clock.now)
        )
    await wscene.approved(type_name="Forklift Licence")
    await deliver(wscene)

    # Then only the new secret signs
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 1
    assert receiver.received[-1].verified_with == (1,)


async def test_pause_holds_deliveries_and_resume_sends_them(
    wscene: Scene, receiver: Receiver
) -> None:
    manager = wscene.world.token("credentials_manager")
    created = await _create(wscene, receiver.url())
    endpoint_id = created["endpoint"]["id"]
    paused = await wscene.client.execute(PAUSE, {"id": endpoint_id}, manager)
    assert paused["data"]["pauseWebhookEndpoint"]["endpoint"]["status"] == "PAUSED"
    await wscene.approved()
    await deliver(wscene)
    assert receiver.received == []
    await wscene.client.execute(RESUME, {"id": endpoint_id}, manager)
    await deliver(wscene)
    assert [r.payload["type"] for r in receiver.received] == ["credential.approved"]


async def test_ping_log_redeliver_and_replay(wscene: Scene, receiver: Receiver) -> None:
    manager = wscene.world.token("credentials_manager")
    created = await _create(wscene, receiver.url())
    receiver.secrets.append(created["secret"])
    endpoint_id = created["endpoint"]["id"]
    cursor_before = (await wscene.client.execute("{ credentialEventsCursor }", None, manager))[
        "data"
    ]["credentialEventsCursor"]

    # A ping, and an approval the receiver refuses once (its answer is kept, 1 KB of it)
    pinged = await wscene.client.execute(PING, {"id": endpoint_id}, manager)
    assert pinged["data"]["pingWebhookEndpoint"]["delivery"]["webhookId"].startswith("ping_")
    await deliver(wscene)
    receiver.fail_next = 1
    await wscene.approved()
    await deliver(wscene)
    assert [r.payload["type"] for r in receiver.received] == ["webhook.ping", "credential.approved"]

    log = await wscene.client.execute(DELIVERIES, {"id": endpoint_id}, manager)
    nodes = [e["node"] for e in log["data"]["webhookDeliveries"]["edges"]]
    approval, ping = nodes
    assert (ping["kind"], ping["status"]) == ("WEBHOOK_PING", "SENT")
    assert (approval["status"], approval["attempts"]) == ("PENDING", 1)
    [attempt] = approval["attemptLog"]
    assert attempt["responseStatus"] == 500
    assert attempt["responseBody"] == "x" * 1024
    assert attempt["error"] == "HTTP 500"
    headers = {h["name"]: h["value"] for h in attempt["requestHeaders"]}
    assert headers["webhook-id"] == approval["webhookId"]
    filtered = await wscene.client.execute(
        DELIVERIES, {"id": endpoint_id, "status": "SENT"}, manager
    )
    assert [e["node"]["id"] for e in filtered["data"]["webhookDeliveries"]["edges"]] == [ping["id"]]

    # Redelivering the ping sends it again with the same webhook-id and body
    again = await wscene.client.execute(REDELIVER, {"id": ping["id"]}, manager)
    assert again["data"]["redeliverWebhook"]["errors"] == []
    # Replaying after the cursor sends the approval again, with its webhook-id
    replayed = await wscene.client.execute(
        REPLAY, {"id": endpoint_id, "after": cursor_before}, manager
    )
    assert replayed["data"]["replayWebhookEndpoint"] == {
        "queued": 1,
        "complete": True,
        "errors": [],
    }
    # When the refused approval's retry is due (5 s on the schedule, jittered)
    wscene.clock.now = utcnow() + timedelta(seconds=6)
    await deliver(wscene)

    # Then the retry arrived, then the replay after it (a credential's events in order,
    # the same webhook-id), and the ping again under its own id
    ids = [r.webhook_id for r in receiver.verified()]
    assert ids[:2] == [ping["webhookId"], approval["webhookId"]]  # the ping, the refused one
    assert sorted(ids[2:]) == sorted([approval["webhookId"]] * 2 + [ping["webhookId"]])
    assert ids.count(approval["webhookId"]) == 3
