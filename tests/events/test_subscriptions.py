"""credentialEvents over graphql-transport-ws, served by a real uvicorn: who receives
what, what the fields reveal, and resuming from a cursor without a gap or a duplicate.

Absence is shown by order, never by waiting: events reach a subscriber in log order, so
when a later event the subscriber must receive arrives first, the earlier ones it must not
receive were filtered out."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type, global_id
from tests.credentials.test_statement_count import Counter
from tests.events.live import http_graphql, live_app, subscriber, until_live
from tests.world import World

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

EVENTS = """
subscription Events($kinds: [CredentialEventKind!], $holderId: ID, $typeId: ID, $after: String) {
  credentialEvents(kinds: $kinds, holderId: $holderId, typeId: $typeId, after: $after) {
    cursor kind occurredAt
    holder { name }
    actor { name }
    credentialType { name }
    credential { id latestVersion { number approvalStatus credentialNumber } }
    version { number approvalStatus }
  }
}
"""

HEAD = "{ credentialEventsCursor }"

REJECT = """
mutation Reject($id: ID!, $reason: String!) {
  rejectCredential(id: $id, reason: $reason) { errors { code } }
}
"""


@pytest.fixture
async def live(settings: Settings, world: World) -> AsyncIterator[tuple[str, GraphQLClient]]:
    clock = TestClock(START)
    async with (
        live_app(replace(settings, expiry_scheduler=False), clock) as (_, address),
        http_graphql(address) as client,
    ):
        yield address, client


async def _head(client: GraphQLClient, world: World) -> str:
    body = await client.execute(HEAD, token=world.token("employee"))
    return str(body["data"]["credentialEventsCursor"])


async def _credential(client: GraphQLClient, world: World, holder: str, **fields: Any) -> str:
    admin = world.token("admin")
    type_id = await create_type(client, admin, name=fields.pop("type_name", "First aid"))
    credential = await create_credential(
        client, admin, type_id, world.user_ids[holder], credentialNumber="FA-1", **fields
    )
    return str(credential["id"])


async def test_the_holder_receives_the_approval_of_their_credential_with_its_details(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = live
    credential_id = await _credential(client, world, "employee")
    async with subscriber(address, world.token("employee")) as employee:
        await employee.subscribe(EVENTS, {"after": await _head(client, world)})

        await approve(client, world.token("credentials_manager"), credential_id)

        [event] = await employee.events(1)
    received = event["credentialEvents"]
    assert received["kind"] == "APPROVED"
    assert received["holder"] == {"name": "Employee"}
    assert received["actor"] is None  # a worker sees no one but themselves
    assert received["credentialType"] == {"name": "First aid"}
    assert received["credential"]["id"] == credential_id
    assert received["credential"]["latestVersion"] == {
        "number": 1,
        "approvalStatus": "APPROVED",
        "credentialNumber": "FA-1",
    }
    assert received["version"] == {"number": 1, "approvalStatus": "APPROVED"}
    assert received["occurredAt"] == "2027-03-01T09:00:00+00:00"


async def test_each_subscriber_receives_exactly_the_events_of_holders_they_may_see(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = live
    reviewer = world.token("credentials_manager")
    employees = await _credential(client, world, "employee", type_name="Employee licence")
    acme = await _credential(client, world, "acme_worker", type_name="Acme licence")
    async with (
        subscriber(address, world.token("employee")) as employee,
        subscriber(address, world.token("company_manager")) as manager,
        subscriber(address, world.token("admin")) as admin,
    ):
        for connection in (employee, manager, admin):
            await connection.subscribe(
                EVENTS, {"kinds": ["APPROVED", "REJECTED"], "after": await _head(client, world)}
            )

        await approve(client, reviewer, acme)
        await client.execute(REJECT, {"id": employees, "reason": "Blurred"}, token=reviewer)

        [employee_event] = await employee.events(1)
        [manager_event] = await manager.events(1)
        admin_events = await admin.events(2)
    assert employee_event["credentialEvents"]["kind"] == "REJECTED"
    assert employee_event["credentialEvents"]["credential"]["id"] == employees
    assert manager_event["credentialEvents"]["kind"] == "APPROVED"
    assert manager_event["credentialEvents"]["credential"]["id"] == acme
    assert [e["credentialEvents"]["credential"]["id"] for e in admin_events] == [acme, employees]
    assert admin_events[0]["credentialEvents"]["actor"] == {"name": "Credentials Manager"}


async def test_a_key_contact_sees_the_event_but_not_the_credential_number(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = live
    credential_id = await _credential(client, world, "bolt_worker")
    async with subscriber(address, world.token("bolt_contact")) as contact:
        await contact.subscribe(EVENTS, {"after": await _head(client, world)})

        await approve(client, world.token("credentials_manager"), credential_id)

        [event] = await contact.events(1)
    latest = event["credentialEvents"]["credential"]["latestVersion"]
    assert latest == {"number": 1, "approvalStatus": "APPROVED", "credentialNumber": None}


async def test_filters_by_kind_holder_and_type(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = live
    reviewer = world.token("credentials_manager")
    first = await _credential(client, world, "employee", type_name="Forklift")
    second = await _credential(client, world, "acme_worker", type_name="Crane")
    async with subscriber(address, world.token("admin")) as admin:
        acme_worker = global_id("User", world.user_ids["acme_worker"])
        head = await _head(client, world)
        await admin.subscribe(
            EVENTS, {"kinds": ["APPROVED"], "holderId": acme_worker, "after": head}
        )

        await approve(client, reviewer, first)  # another holder
        await client.execute(REJECT, {"id": second, "reason": "Blurred"}, token=reviewer)
        third = await _credential(client, world, "acme_worker", type_name="Dogman")
        await approve(client, reviewer, third)  # the first that matches

        [event] = await admin.events(1)
    assert event["credentialEvents"]["kind"] == "APPROVED"
    assert event["credentialEvents"]["credential"]["id"] == third


async def test_a_refused_change_emits_nothing(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = live
    own = await _credential(client, world, "credentials_manager", type_name="Own")
    other = await _credential(client, world, "employee", type_name="Other")
    async with subscriber(address, world.token("admin")) as admin:
        await admin.subscribe(EVENTS, {"kinds": ["APPROVED"], "after": await _head(client, world)})

        refused = await approve(client, world.token("credentials_manager"), own)
        assert [e["code"] for e in refused["errors"]] == ["OWN_CREDENTIAL"]
        await approve(client, world.token("credentials_manager"), other)

        [event] = await admin.events(1)
    assert event["credentialEvents"]["credential"]["id"] == other


async def test_resuming_after_a_cursor_replays_what_was_missed_then_continues_live(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = live
    reviewer = world.token("credentials_manager")
    ids = [await _credential(client, world, "employee", type_name=f"Type {n}") for n in range(4)]
    async with subscriber(address, world.token("employee")) as employee:
        await employee.subscribe(
            EVENTS, {"kinds": ["APPROVED"], "after": await _head(client, world)}
        )
        await approve(client, reviewer, ids[0])
        [first] = await employee.events(1)
    cursor = first["credentialEvents"]["cursor"]

    # While disconnected:
    await approve(client, reviewer, ids[1])
    await approve(client, reviewer, ids[2])

    async with subscriber(address, world.token("employee")) as employee:
        await employee.subscribe(EVENTS, {"kinds": ["APPROVED"], "after": cursor})
        replayed = await employee.events(2)
        await approve(client, reviewer, ids[3])
        [live_event] = await employee.events(1)
    received = [e["credentialEvents"]["credential"]["id"] for e in [*replayed, live_event]]
    assert received == ids[1:]
    cursors = [e["credentialEvents"]["cursor"] for e in [first, *replayed, live_event]]
    assert len(set(cursors)) == 4


async def test_a_malformed_cursor_is_a_clear_error(
    live: tuple[str, GraphQLClient], world: World
) -> None:
    address, _ = live
    async with subscriber(address, world.token("employee")) as employee:
        await employee.subscribe(EVENTS, {"after": "not-a-cursor"})
        message = await employee.receive()
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "cursor" in errors[0]["message"]


ARCHIVE_MANY = "mutation A($ids: [ID!]!) { archiveCredentials(ids: $ids) { errors { code } } }"


async def test_a_subscriber_too_slow_is_ended_with_a_cursor_to_resume_from(
    settings: Settings, world: World
) -> None:
    # Given a server whose subscribers may fall at most one event behind
    slow = replace(settings, expiry_scheduler=False, subscriber_queue_size=1)
    async with (
        live_app(slow, TestClock(START)) as (_, address),
        http_graphql(address) as client,
    ):
        ids = [await _credential(client, world, "employee", type_name=f"T{n}") for n in range(3)]
        async with subscriber(address, world.token("admin")) as admin:
            await admin.subscribe(
                EVENTS, {"kinds": ["ARCHIVED"], "after": await _head(client, world)}
            )
            await until_live(address, 1)

            # When three events arrive at once (one transaction)
            await client.execute(ARCHIVE_MANY, {"ids": ids}, token=world.token("admin"))

            # Then the subscription ends with a clear reason and where to resume
            ended = await admin.receive()
            assert ended["type"] == "next", ended
            [error] = ended["payload"]["errors"]
            assert error["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
            assert "subscribe again with `after`" in error["message"]
            resume_after = error["extensions"]["resumeAfter"]
            assert (await admin.receive())["type"] == "complete"

            # And resuming from there delivers every event, from the log
            await admin.subscribe(EVENTS, {"kinds": ["ARCHIVED"], "after": resume_after})
            resumed = await admin.events(3)
    assert [e["credentialEvents"]["credential"]["id"] for e in resumed] == ids


async def _statements_to_deliver_to(
    settings: Settings, world: World, subscribers: int
) -> list[str]:
    """The statements the server runs from an approval until `subscribers` administrators
    (and the holder) have it, each selecting the credential, its versions, holder and type."""
    # Neither background worker: their statements follow their own timers, not subscribers.
    config = replace(settings, expiry_scheduler=False, delivery_worker=False)
    async with (
        live_app(config, TestClock(START)) as (app, address),
        http_graphql(address) as client,
    ):
        credential_id = await _credential(
            client, world, "employee", type_name=f"Licence {subscribers}"
        )
        head = await _head(client, world)
        async with contextlib.AsyncExitStack() as stack:
            connections = [
                await stack.enter_async_context(subscriber(address, world.token("admin")))
                for _ in range(subscribers)
            ]
            for connection in connections:
                await connection.subscribe(EVENTS, {"kinds": ["APPROVED"], "after": head})
            await until_live(address, subscribers)
            counted = Counter()
            engine = app.state.database.engine.sync_engine
            event.listen(engine, "before_cursor_execute", counted)
            try:
                await approve(client, world.token("credentials_manager"), credential_id)
                for connection in connections:
                    await connection.events(1)
            finally:
                event.remove(engine, "before_cursor_execute", counted)
    return counted.seen


async def test_delivering_an_event_costs_the_same_statements_for_1_or_6_subscribers(
    settings: Settings, world: World
) -> None:
    one = await _statements_to_deliver_to(settings, world, 1)
    six = await _statements_to_deliver_to(settings, world, 6)

    # The same reads: the approval's own, and the hub's one of what the event speaks of.
    # How often the hub looks at the log follows the signals (the commit's own and the
    # broker's echo may or may not arrive together), not the subscribers: left out. Writes
    # differ only by the token bookkeeping of a first use.
    def reads(statements: list[str]) -> collections.Counter[str]:
        return collections.Counter(
            s
            for s in statements
            if s.startswith("SELECT") and not s.startswith("SELECT credential_events.")
        )

    reads_one, reads_six = reads(one), reads(six)
    assert reads_six == reads_one, (reads_six - reads_one, reads_one - reads_six)
