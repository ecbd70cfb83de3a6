"""Subscriptions follow the connection's token: a revoked token ends its subscriptions
(at once when the broker carries the news, else at the next periodic check), and a
connection holds a limited number of operations."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.tenancy import unscoped
from server.database import Database
from server.settings import Settings
from services import identity
from tests.clock import TestClock
from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type
from tests.events.live import Subscriber, http_graphql, live_app, subscriber, until_live
from tests.server.process import ROOT, service_env
from tests.services import private_redis
from tests.world import World

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
EVENTS = """
subscription Events($after: String) {
  credentialEvents(after: $after) { kind credential { id } }
}
"""
HEAD = "{ credentialEventsCursor }"


async def _head(client: GraphQLClient, world: World) -> str:
    body = await client.execute(HEAD, token=world.token("employee"))
    return str(body["data"]["credentialEventsCursor"])


async def _pending_credential(client: GraphQLClient, world: World, name: str) -> str:
    type_id = await create_type(client, world.token("admin"), name=name)
    created = await create_credential(
        client, world.token("admin"), type_id, world.user_ids["employee"]
    )
    return str(created["id"])


async def _revoke_in_database(database_url: str, world: World, role: str) -> None:
    """Revokes the token the way any other process would: in the database only."""
    database = Database(database_url)
    try:
        async with database.transaction(unscoped()) as session:
            await identity.revoke_token(
                session, world.north_id, world.token_ids[role], datetime.now(UTC)
            )
    finally:
        await database.dispose()


async def _ended_unauthenticated(connection: Subscriber) -> dict[str, Any]:
    message = await connection.receive()
    assert message["type"] == "next", message
    [error] = message["payload"]["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", error
    assert (await connection.receive())["type"] == "complete"
    return dict(error)


@pytest.fixture
async def clock() -> TestClock:
    return TestClock(START)


@pytest.fixture
async def served(
    settings: Settings, world: World, clock: TestClock
) -> AsyncIterator[tuple[str, GraphQLClient]]:
    config = replace(settings, expiry_scheduler=False, max_subscriptions_per_connection=2)
    async with live_app(config, clock) as (_, address), http_graphql(address) as client:
        yield address, client


async def test_a_token_revoked_elsewhere_ends_its_subscriptions_at_the_next_check(
    served: tuple[str, GraphQLClient], world: World, clock: TestClock, database_url: str
) -> None:
    address, client = served
    credential_id = await _pending_credential(client, world, "First aid")
    async with subscriber(address, world.token("employee")) as employee:
        await employee.subscribe(EVENTS, {"after": await _head(client, world)})
        await until_live(address, 1)

        # When the token is revoked with no signal reaching this instance, and the
        # recheck period passes before the next event
        await _revoke_in_database(database_url, world, "employee")
        clock.advance(timedelta(seconds=61))
        await approve(client, world.token("credentials_manager"), credential_id)

        # Then the subscription ends instead of delivering it
        error = await _ended_unauthenticated(employee)
    assert "revoked" in error["message"]


async def test_a_new_subscription_on_a_revoked_connection_is_refused(
    served: tuple[str, GraphQLClient], world: World, database_url: str
) -> None:
    address, _ = served
    async with subscriber(address, world.token("employee")) as employee:
        await _revoke_in_database(database_url, world, "employee")

        await employee.subscribe(EVENTS)

        await _ended_unauthenticated(employee)


async def test_a_connection_holds_at_most_the_configured_number_of_operations(
    served: tuple[str, GraphQLClient], world: World
) -> None:
    address, client = served
    head = await _head(client, world)
    async with subscriber(address, world.token("employee")) as employee:
        await employee.subscribe(EVENTS, {"after": head})
        await employee.subscribe(EVENTS, {"after": head})
        third = await employee.subscribe(EVENTS, {"after": head})

        refusal = await employee.receive()
    assert refusal["type"] == "error"
    assert refusal["id"] == third
    assert refusal["payload"][0]["message"] == "Subscription limit reached"


async def test_revoking_with_the_cli_ends_the_tokens_subscriptions_at_once(
    settings: Settings, world: World, clock: TestClock, database_url: str
) -> None:
    # Given an instance on a broker, and an employee subscribed to it
    with private_redis() as redis:
        config = replace(settings, broadcast_url=redis.url, expiry_scheduler=False)
        async with (
            live_app(config, clock) as (_, address),
            http_graphql(address) as client,
            subscriber(address, world.token("employee")) as employee,
            subscriber(address, world.token("admin")) as admin,
        ):
            head = await _head(client, world)
            await employee.subscribe(EVENTS, {"after": head})
            await admin.subscribe(EVENTS, {"after": head})

            # When an operator revokes the employee's token with the CLI
            token_id = str(world.token_ids["employee"])
            revoke = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "server", "revoke-token"),
                *("--org", str(world.north_id), token_id),
                cwd=ROOT,
                env=service_env({"DATABASE_URL": database_url, "BROADCAST_URL": redis.url}),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, stderr = await revoke.communicate()
            assert revoke.returncode == 0, stderr.decode()

            # Then the employee's subscription ends without waiting for any check
            await _ended_unauthenticated(employee)
            # while other tokens' subscriptions go on
            credential_id = await _pending_credential(client, world, "Forklift")
            [event] = await admin.events(1)
    assert event["credentialEvents"] == {"kind": "SUBMITTED", "credential": {"id": credential_id}}
