"""The scheduler inside the service: its reminders reach subscribers of
credentialExpiryEvents and the holder's notifications, like any other event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from server.database import Database
from server.expiry_scheduler import run_sweep
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import client_on
from tests.credentials.factories import approve, create_credential, create_type
from tests.events.live import http_graphql, live_app, subscriber
from tests.world import World

EXPIRY_EVENTS = """
subscription Expiry($after: String) {
  credentialExpiryEvents(after: $after) {
    kind leadDays expiryDate credential { id } actor { name }
  }
}
"""
HEAD = "{ credentialEventsCursor }"
NOTIFICATIONS = "{ notifications { edges { node { kind leadDays message } } } }"


async def test_the_services_own_scheduler_sends_a_due_reminder_to_subscribers(
    settings: Settings, database: Database, world: World
) -> None:
    # Given a credential expiring on April 10 and a sweep that ran through March 2
    clock = TestClock(datetime(2027, 3, 2, 9, tzinfo=UTC))
    async with client_on(settings, clock) as client:
        type_id = await create_type(client, world.token("admin"), name="Crane licence")
        created = await create_credential(
            client,
            world.token("admin"),
            type_id,
            world.user_ids["employee"],
            issueDate="2024-04-10",
            expiryDate="2027-04-10",
        )
        await approve(client, world.token("credentials_manager"), created["id"])
        head = (await client.execute(HEAD, token=world.token("employee")))["data"]
    await run_sweep(database, clock)

    # When the service starts on March 11, thirty days before expiry, with its scheduler on
    clock.set_day(date(2027, 3, 11))
    async with (
        live_app(replace(settings, expiry_scheduler=True), clock) as (_, address),
        http_graphql(address) as http,
        subscriber(address, world.token("employee")) as employee,
    ):
        await employee.subscribe(EXPIRY_EVENTS, {"after": head["credentialEventsCursor"]})

        # Then the holder hears of it, from the scheduler, and finds it in notifications
        [event] = await employee.events(1)
        inbox = await http.execute(NOTIFICATIONS, token=world.token("employee"))
    assert event["credentialExpiryEvents"] == {
        "kind": "EXPIRING_SOON",
        "leadDays": 30,
        "expiryDate": "2027-04-10",
        "credential": {"id": created["id"]},
        "actor": None,
    }
    assert [edge["node"] for edge in inbox["data"]["notifications"]["edges"]] == [
        {
            "kind": "EXPIRING_SOON",
            "leadDays": 30,
            "message": "Your Crane licence expires in 30 days (2027-04-10).",
        },
        {"kind": "APPROVED", "leadDays": None, "message": "Your Crane licence was approved."},
    ]
