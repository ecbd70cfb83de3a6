"""In-app notifications: written from the events that concern the holder, listed newest
first, marked read by their owner only; and who may read or change reminder settings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type, global_id
from tests.world import World

NOTIFICATIONS = """
query N($unreadOnly: Boolean!, $first: Int) {
  notifications(unreadOnly: $unreadOnly, first: $first) {
    totalCount
    edges { node { id kind read reason message credential { id } credentialType { name } } }
  }
}
"""
MARK_READ = """
mutation M($ids: [ID!]!) {
  markNotificationsRead(ids: $ids) { notifications { id read } errors { code field } }
}
"""
REJECT = """
mutation R($id: ID!, $reason: String!) {
  rejectCredential(id: $id, reason: $reason) { errors { code } }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
READ_SETTINGS = """
query S($userId: ID) { notificationSettings(userId: $userId) { expiryReminders leadTimesDays } }
"""
UPDATE_SETTINGS = """
mutation U($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    settings { expiryReminders leadTimesDays user { name } }
    errors { code field message }
  }
}
"""


async def _reviewed(graphql: GraphQLClient, world: World) -> tuple[str, str]:
    """Two of the employee's credentials: one rejected, then one approved."""
    admin, reviewer = world.token("admin"), world.token("credentials_manager")
    ids = []
    for name in ("Forklift licence", "First aid"):
        type_id = await create_type(graphql, admin, name=name)
        created = await create_credential(graphql, admin, type_id, world.user_ids["employee"])
        ids.append(str(created["id"]))
    body = await graphql.execute(
        REJECT, {"id": ids[0], "reason": "Photo is blurred."}, token=reviewer
    )
    assert body["data"]["rejectCredential"]["errors"] == []
    await approve(graphql, reviewer, ids[1])
    return ids[0], ids[1]


async def _notifications(
    graphql: GraphQLClient, token: str, unread_only: bool = False
) -> dict[str, Any]:
    body = await graphql.execute(NOTIFICATIONS, {"unreadOnly": unread_only}, token=token)
    found: dict[str, Any] = body["data"]["notifications"]
    return found


async def test_reviews_notify_the_holder_newest_first(graphql: GraphQLClient, world: World) -> None:
    rejected, approved = await _reviewed(graphql, world)

    found = await _notifications(graphql, world.token("employee"))

    assert found["totalCount"] == 2
    nodes = [edge["node"] for edge in found["edges"]]
    assert [(n["kind"], n["credential"]["id"], n["read"]) for n in nodes] == [
        ("APPROVED", approved, False),
        ("RESUBMISSION_REQUESTED", rejected, False),
    ]
    assert nodes[0]["message"] == "Your First aid was approved."
    assert nodes[1]["reason"] == "Photo is blurred."
    assert nodes[1]["message"] == "Your Forklift licence needs to be resubmitted: Photo is blurred."
    assert (await _notifications(graphql, world.token("credentials_manager")))["totalCount"] == 0


async def test_marking_read_leaves_the_rest_unread(graphql: GraphQLClient, world: World) -> None:
    await _reviewed(graphql, world)
    token = world.token("employee")
    newest = (await _notifications(graphql, token))["edges"][0]["node"]["id"]

    body = await graphql.execute(MARK_READ, {"ids": [newest]}, token=token)

    assert body["data"]["markNotificationsRead"] == {
        "notifications": [{"id": newest, "read": True}],
        "errors": [],
    }
    unread = await _notifications(graphql, token, unread_only=True)
    assert unread["totalCount"] == 1
    assert unread["edges"][0]["node"]["kind"] == "RESUBMISSION_REQUESTED"


@pytest.mark.parametrize("other", ["admin", "credentials_manager", "south_admin"])
async def test_nobody_else_reads_or_marks_a_users_notifications(
    graphql: GraphQLClient, world: World, other: str
) -> None:
    await _reviewed(graphql, world)
    newest = (await _notifications(graphql, world.token("employee")))["edges"][0]["node"]["id"]

    marked = await graphql.execute(MARK_READ, {"ids": [newest]}, token=world.token(other))
    node = await graphql.execute(NODE, {"id": newest}, token=world.token(other))

    assert marked["data"]["markNotificationsRead"]["errors"] == [
        {"code": "NOT_FOUND", "field": "ids"}
    ]
    assert node["data"]["node"] is None
    unread = await _notifications(graphql, world.token("employee"), unread_only=True)
    assert unread["totalCount"] == 2


async def test_settings_default_to_reminders_at_30_7_1_and_0_days(
    graphql: GraphQLClient, world: World
) -> None:
    body = await graphql.execute(READ_SETTINGS, {}, token=world.token("employee"))

    assert body["data"]["notificationSettings"] == {
        "expiryReminders": True,
        "leadTimesDays": [30, 7, 1, 0],
    }


@pytest.mark.parametrize(
    ("editor", "allowed"),
    [
        ("employee", True),
        ("users_manager", True),
        ("admin", True),
        ("credentials_manager", False),
        ("company_manager", False),
        ("acme_worker", False),
        ("south_admin", False),
    ],
)
async def test_a_users_settings_are_theirs_and_user_managers_to_change(
    graphql: GraphQLClient, world: World, editor: str, allowed: bool
) -> None:
    employee = global_id("User", world.user_ids["employee"])
    change = {"userId": employee, "expiryReminders": False, "leadTimesDays": [3, 14, 14]}

    body = await graphql.execute(UPDATE_SETTINGS, {"input": change}, token=world.token(editor))
    read = await graphql.execute(READ_SETTINGS, {"userId": employee}, token=world.token(editor))

    payload = body["data"]["updateNotificationSettings"]
    saved = await graphql.execute(READ_SETTINGS, {}, token=world.token("employee"))
    if allowed:
        assert payload["errors"] == []
        assert payload["settings"] == {
            "expiryReminders": False,
            "leadTimesDays": [14, 3],
            "user": {"name": "Employee"},
        }
        assert read["data"]["notificationSettings"] == {
            "expiryReminders": False,
            "leadTimesDays": [14, 3],
        }
        assert saved["data"]["notificationSettings"]["leadTimesDays"] == [14, 3]
    else:
        assert payload["settings"] is None
        assert [e["code"] for e in payload["errors"]] in (["PERMISSION_DENIED"], ["NOT_FOUND"])
        assert read["data"]["notificationSettings"] is None
        assert saved["data"]["notificationSettings"]["leadTimesDays"] == [30, 7, 1, 0]


@pytest.mark.parametrize(
    ("lead_times", "message"),
    [
        ([-1], "Lead times are days before expiry, 0 (the expiry day) to 365; -1 is not."),
        ([400], "Lead times are days before expiry, 0 (the expiry day) to 365; 400 is not."),
        (list(range(11)), "At most 10 reminder lead times may be chosen."),
    ],
)
async def test_impossible_lead_times_are_refused_and_change_nothing(
    graphql: GraphQLClient, world: World, lead_times: list[int], message: str
) -> None:
    token = world.token("employee")
    change = {"expiryReminders": False, "leadTimesDays": lead_times}

    body = await graphql.execute(UPDATE_SETTINGS, {"input": change}, token=token)

    assert body["data"]["updateNotificationSettings"]["errors"] == [
        {"code": "INVALID", "field": "leadTimesDays", "message": message}
    ]
    saved = await graphql.execute(READ_SETTINGS, {}, token=token)
    assert saved["data"]["notificationSettings"]["expiryReminders"] is True
