"""Over the API: each person's channels and digest choice, and the delivery log (the
organization's for CREDENTIALS_MANAGE, one's own for everyone else)."""

from __future__ import annotations

from typing import Any

import pytest

from models.delivery import DeliveryStatus
from tests.credentials.factories import global_id
from tests.delivery.mail_server import MailServer
from tests.delivery.scene import Scene

SETTINGS = """
query S($userId: ID) {
  notificationSettings(userId: $userId) { digest channels { kind inApp email } }
}
"""
UPDATE = """
mutation U($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    settings { digest channels { kind email } }
    errors { code field message }
  }
}
"""
DELIVERIES = """
query D($first: Int, $after: String, $filter: NotificationDeliveryFilterInput) {
  notificationDeliveries(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id channel kind status attempts lastError createdAt sentAt nextAttemptAt
      recipient { name } recipientAddress
    } }
  }
}
"""
NODE = "query N($id: ID!) { node(id: $id) { ... on NotificationDelivery { kind status } } }"
KINDS = ["APPROVED", "RESUBMISSION_REQUESTED", "EXPIRING_SOON", "EXPIRED"]


async def _update(scene: Scene, role: str, **fields: Any) -> dict[str, Any]:
    body = await scene.client.execute(UPDATE, {"input": fields}, scene.world.token(role))
    payload: dict[str, Any] = body["data"]["updateNotificationSettings"]
    return payload


async def _log(scene: Scene, role: str, **variables: Any) -> dict[str, Any]:
    body = await scene.client.execute(DELIVERIES, variables, scene.world.token(role))
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["notificationDeliveries"]
    return found


async def test_everyone_starts_with_email_on_for_every_kind_and_no_digest(scene: Scene) -> None:
    body = await scene.client.execute(SETTINGS, {}, scene.world.token("employee"))

    assert body["data"]["notificationSettings"] == {
        "digest": "NONE",
        "channels": [{"kind": kind, "inApp": True, "email": True} for kind in KINDS],
    }


async def test_email_turned_off_for_a_kind_stops_its_pending_mail(
    scene: Scene, smtp: MailServer
) -> None:
    # Given an approval's email waiting in the outbox
    await scene.approved()

    # When the holder turns email off for approvals, before the worker passes
    payload = await _update(scene, "employee", channels=[{"kind": "APPROVED", "email": False}])
    await scene.deliver(smtp.url())

    # Then the choice is kept, the rest untouched, and the email was skipped, saying why
    assert payload["errors"] == []
    assert payload["settings"]["channels"][:2] == [
        {"kind": "APPROVED", "email": False},
        {"kind": "RESUBMISSION_REQUESTED", "email": True},
    ]
    row = await scene.only_delivery()
    assert (row.status, row.last_error) == (
        DeliveryStatus.SKIPPED,
        "email turned off for APPROVED",
    )
    assert smtp.handler.received == []
    # And turning it on again leaves it off for nothing else
    again = await _update(scene, "employee", channels=[{"kind": "APPROVED", "email": True}])
    assert all(c["email"] for c in again["settings"]["channels"])


async def test_a_kind_given_twice_is_refused_and_changes_nothing(scene: Scene) -> None:
    payload = await _update(
        scene,
        "employee",
        channels=[{"kind": "EXPIRED", "email": False}, {"kind": "EXPIRED", "email": True}],
    )

    assert payload["settings"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "channels")]
    body = await scene.client.execute(SETTINGS, {}, scene.world.token("employee"))
    assert all(c["email"] for c in body["data"]["notificationSettings"]["channels"])


@pytest.mark.parametrize(
    ("role", "whose", "allowed"),
    [
        ("credentials_manager", None, True),
        ("users_manager", None, True),
        ("company_manager", None, True),
        ("bolt_contact", None, True),
        ("employee", None, False),
        ("acme_worker", None, False),
        # a user manager sets others' settings, but a digest only for one who looks after others
        ("users_manager", "employee", False),
        ("users_manager", "credentials_manager", True),
    ],
)
async def test_only_those_who_look_after_others_may_choose_a_digest(
    scene: Scene, role: str, whose: str | None, allowed: bool
) -> None:
    user = {"userId": global_id("User", scene.world.user_ids[whose])} if whose else {}

    payload = await _update(scene, role, digest="WEEKLY", **user)

    if allowed:
        assert payload["errors"] == []
        assert payload["settings"]["digest"] == "WEEKLY"
    else:
        assert payload["settings"] is None
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("DIGEST_NOT_AVAILABLE", "digest")
        assert "look after others" in error["message"]
    assert (await _update(scene, role, digest="NONE", **user))["errors"] == []


async def test_the_delivery_log_lists_the_organization_for_credential_managers_and_own_for_others(
    scene: Scene, smtp: MailServer
) -> None:
    # Given the employee's approval, sent, and the acme worker's rejection, refused for good
    await scene.approved("employee")
    await scene.deliver(smtp.url())
    smtp.handler.replies.append("550 5.1.1 No such mailbox")
    rejected = await scene.credential("acme_worker", type_name="Forklift licence")
    await scene.reject(rejected, "Blurred")
    await scene.deliver(smtp.url())

    # When each reads the log
    managers = await _log(scene, "credentials_manager")
    own = await _log(scene, "employee")
    worker = await _log(scene, "acme_worker")
    south = await _log(scene, "south_admin")

    # Then the credentials manager sees both, newest first; others only their own
    assert managers["totalCount"] == 2
    newest, oldest = (edge["node"] for edge in managers["edges"])
    assert (newest["kind"], newest["status"], newest["attempts"]) == (
        "RESUBMISSION_REQUESTED",
        "FAILED",
        1,
    )
    assert newest["lastError"] == "550 5.1.1 No such mailbox"
    assert newest["recipient"] == {"name": "Acme Worker"}
    assert (oldest["kind"], oldest["status"], oldest["channel"]) == ("APPROVED", "SENT", "EMAIL")
    assert oldest["sentAt"] is not None
    assert oldest["nextAttemptAt"] is None
    # the credentials manager may not read emails (USERS_MANAGE may)
    assert oldest["recipientAddress"] is None
    assert [e["node"]["id"] for e in own["edges"]] == [oldest["id"]]
    assert own["edges"][0]["node"]["recipientAddress"] == "employee@example.com"
    assert [e["node"]["id"] for e in worker["edges"]] == [newest["id"]]
    assert south["totalCount"] == 0
    admin = await _log(scene, "admin")
    assert admin["edges"][1]["node"]["recipientAddress"] == "employee@example.com"
    # And node(id) answers as the list does
    for role, visible in (("employee", True), ("acme_worker", False), ("admin", True)):
        body = await scene.client.execute(NODE, {"id": oldest["id"]}, scene.world.token(role))
        assert (body["data"]["node"] is not None) is visible, role


async def test_the_delivery_log_filters_and_pages(scene: Scene, smtp: MailServer) -> None:
    for n in range(3):
        await scene.approved("employee", type_name=f"Licence {n}")
    await scene.approved("acme_worker", type_name="Forklift licence")
    smtp.handler.replies.append("451 4.3.0 Try again later")
    await scene.deliver(smtp.url())
    employee = global_id("User", scene.world.user_ids["employee"])

    pending = await _log(scene, "credentials_manager", filter={"status": "PENDING"})
    theirs = await _log(scene, "credentials_manager", filter={"recipientId": employee})
    nobody = await _log(scene, "credentials_manager", filter={"recipientId": "nonsense"})
    digests = await _log(scene, "credentials_manager", filter={"kind": "DIGEST"})
    first = await _log(scene, "credentials_manager", first=2)
    rest = await _log(scene, "credentials_manager", first=2, after=first["pageInfo"]["endCursor"])

    assert pending["totalCount"] == 1
    assert pending["edges"][0]["node"]["lastError"] == "451 4.3.0 Try again later"
    assert pending["edges"][0]["node"]["nextAttemptAt"] is not None
    assert theirs["totalCount"] == 3
    assert nobody["totalCount"] == 0
    assert digests["totalCount"] == 0
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(set(ids)) == 4
