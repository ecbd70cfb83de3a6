"""Several instances on PostgreSQL + Redis, as real processes: an event committed on one
reaches subscribers of another, also across a Redis restart in the middle of a stream.

The Redis here is a private one on a port of the test's own, so that stopping it disturbs
no other test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.credentials.factories import APPROVE, CREATE_TYPE
from tests.events.live import http_graphql, subscriber
from tests.server.process import RunningServer, running_server
from tests.services import migrate_with_cli, private_redis

pytestmark = pytest.mark.postgres

ADMIN, REVIEWER, HOLDER = "Ada Admin", "Casey Clerk", "Sam Shaw"

APPROVED_EVENTS = """
subscription Approved($after: String) {
  credentialEvents(kinds: [APPROVED], after: $after) {
    cursor kind version { number } credential { id }
  }
}
"""
HEAD = "{ credentialEventsCursor }"
ME = "{ me { id } }"
CREATE = """
mutation Create($input: CreateCredentialInput!) {
  createCredential(input: $input) { credential { id } errors { code message } }
}
"""
RENEW = """
mutation Renew($input: AddCredentialVersionInput!) {
  addCredentialVersion(input: $input) { credential { id } errors { code message } }
}
"""


@dataclass
class Cluster:
    first: RunningServer
    second: RunningServer
    tokens: dict[str, str]

    def address(self, server: RunningServer) -> str:
        return f"127.0.0.1:{server.port}"


@contextmanager
def two_instances(database_url: str, redis_url: str, **extra: str) -> Iterator[Cluster]:
    env = {
        "DATABASE_URL": database_url,
        "BROADCAST_URL": redis_url,
        "LOAD_DEMO_DATA": "true",
        "EXPIRY_SCHEDULER": "false",
        "RATE_LIMIT_CAPACITY": "0",
        **extra,
    }
    with running_server(env) as first, running_server(env) as second:
        yield Cluster(first, second, first.demo_tokens())


async def _execute(client: GraphQLClient, query: str, variables: dict[str, Any], token: str) -> Any:
    body = await client.execute(query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def _bus_connections(address: str) -> float:
    async with httpx.AsyncClient() as probe:
        metrics = (await probe.get(f"http://{address}/metrics")).text.splitlines()
    [line] = [m for m in metrics if m.startswith("event_bus_connections_total ")]
    return float(line.split()[1])


async def _head(client: GraphQLClient, token: str) -> str:
    return str((await _execute(client, HEAD, {}, token))["credentialEventsCursor"])


class Stream:
    """The holder's credential, renewed and approved through one instance."""

    def __init__(self, client: GraphQLClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens
        self.credential_id = ""

    async def start(self) -> None:
        made = await _execute(
            self.client,
            CREATE_TYPE,
            {"input": {"name": "Multi-instance licence", "neverExpires": True}},
            self.tokens[ADMIN],
        )
        type_id = made["createCredentialType"]["credentialType"]["id"]
        holder = (await _execute(self.client, ME, {}, self.tokens[HOLDER]))["me"]["id"]
        created = await _execute(
            self.client,
            CREATE,
            {"input": {"typeId": type_id, "holderId": holder, "issueDate": "2026-01-01"}},
            self.tokens[HOLDER],
        )
        assert created["createCredential"]["errors"] == [], created
        self.credential_id = created["createCredential"]["credential"]["id"]

    async def approve(self) -> None:
        approved = await _execute(
            self.client, APPROVE, {"id": self.credential_id}, self.tokens[REVIEWER]
        )
        assert approved["approveCredential"]["errors"] == [], approved

    async def renew_and_approve(self) -> None:
        renewal = {"credentialId": self.credential_id, "issueDate": "2026-06-01"}
        renewed = await _execute(self.client, RENEW, {"input": renewal}, self.tokens[HOLDER])
        assert renewed["addCredentialVersion"]["errors"] == [], renewed
        await self.approve()


@pytest.fixture
def postgres_database(fresh_postgres_url: str) -> str:
    migrate_with_cli(fresh_postgres_url)
    return fresh_postgres_url


async def test_an_event_committed_on_one_instance_reaches_subscribers_of_another(
    postgres_database: str,
) -> None:
    with (
        private_redis() as redis,
        two_instances(postgres_database, redis.url, EVENT_POLL_INTERVAL_MS="600000") as cluster,
    ):
        async with http_graphql(cluster.address(cluster.first)) as first:
            stream = Stream(first, cluster.tokens)
            await stream.start()
            head = (await _execute(first, HEAD, {}, cluster.tokens[ADMIN]))[
                "credentialEventsCursor"
            ]
            async with subscriber(cluster.address(cluster.second), cluster.tokens[ADMIN]) as admin:
                await admin.subscribe(APPROVED_EVENTS, {"after": head})

                await stream.approve()  # on the first instance

                [event] = await admin.events(1)
            # through the live subscription to Redis, not by reconnecting and catching up
            assert await _bus_connections(cluster.address(cluster.second)) == 1
    assert event["credentialEvents"]["credential"]["id"] == stream.credential_id
    assert event["credentialEvents"]["version"] == {"number": 1}


async def test_across_a_redis_restart_a_resuming_subscriber_has_every_event_exactly_once(
    postgres_database: str,
) -> None:
    # Given two instances whose only news of each other comes through Redis (their
    # safety-net poll is set far beyond the test), and a subscriber on the second
    with (
        private_redis() as redis,
        two_instances(
            postgres_database,
            redis.url,
            EVENT_POLL_INTERVAL_MS="600000",
            BROADCAST_HEARTBEAT_MS="200",
        ) as cluster,
    ):
        async with http_graphql(cluster.address(cluster.first)) as first:
            stream = Stream(first, cluster.tokens)
            await stream.start()
            head = (await _execute(first, HEAD, {}, cluster.tokens[ADMIN]))[
                "credentialEventsCursor"
            ]
            second = cluster.address(cluster.second)
            received: list[dict[str, Any]] = []
            async with subscriber(second, cluster.tokens[ADMIN]) as admin:
                await admin.subscribe(APPROVED_EVENTS, {"after": head})
                await stream.approve()
                received += await admin.events(1)

                # When Redis goes away while events keep being committed on the first
                redis.kill()
                await stream.renew_and_approve()
                await stream.renew_and_approve()
                # and comes back: the second instance reconnects and reads what it missed
                redis.start()
                received += await admin.events(2, within_s=30)

                # Then live delivery through the new connection continues
                await stream.renew_and_approve()
                received += await admin.events(1, within_s=30)

            # When the subscriber reconnects from its last cursor after more events
            await stream.renew_and_approve()
            async with subscriber(second, cluster.tokens[ADMIN]) as admin:
                await admin.subscribe(
                    APPROVED_EVENTS, {"after": received[-1]["credentialEvents"]["cursor"]}
                )
                received += await admin.events(1)
                await stream.renew_and_approve()
                received += await admin.events(1)
            async with httpx.AsyncClient() as probe:
                ready = await probe.get(f"http://{second}/readyz")
            reconnected = await _bus_connections(second) > 1

    # Then every approval arrived once, in order
    versions = [e["credentialEvents"]["version"]["number"] for e in received]
    assert versions == [1, 2, 3, 4, 5, 6]
    assert len({e["credentialEvents"]["cursor"] for e in received}) == 6
    assert ready.status_code == 200, ready.text
    assert reconnected
