"""The limits cannot be stepped around: not by an alias that looks like introspection, not
over WebSocket, not by comments or whitespace, not by a large or deeply nested JSON body."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient, client_on, http_client_on
from tests.events.live import PROTOCOL, live_app, subscriber
from tests.schema.test_limits import _nested
from tests.world import World

COSTLY_EVENTS = "subscription { credentialEvents { credential { id } } }"
LONG_COMMENT = "# " + "x" * 200_000 + "\n"


def _codes(body: dict[str, object]) -> list[object]:
    errors = body.get("errors")
    assert isinstance(errors, list), body
    return [e.get("extensions", {}).get("code") for e in errors]


async def test_an_alias_that_starts_with_two_underscores_is_not_introspection(
    graphql: GraphQLClient, world: World
) -> None:
    # given a document one level too deep, its deep part under an alias like "__schema"
    document = _nested(11).replace("{ me {", "{ __schema: me {", 1)
    # when it is sent
    body = await graphql.execute(document, token=world.token("admin"))
    # then the alias does not exempt it from the depth limit
    assert body["data"] is None
    assert "exceeds maximum operation depth of 10" in body["errors"][0]["message"]
    assert _codes(body) == ["QUERY_TOO_DEEP"]


async def test_a_comment_beyond_the_document_limit_is_refused_unparsed(
    settings: Settings, world: World
) -> None:
    # given a document made long by a comment, within the JSON body limit
    document = LONG_COMMENT + "{ me { name } }"
    # when it is sent, then it is refused for its size
    async with client_on(settings) as client:
        refused = await client.execute(document, token=world.token("admin"))
    assert _codes(refused) == ["QUERY_TOO_LARGE"]
    assert "200" in refused["errors"][0]["message"]
    # and the limit is a setting
    async with client_on(replace(settings, max_query_bytes=300_000)) as roomy:
        answered = await roomy.execute(document, token=world.token("admin"))
    assert answered == {"data": {"me": {"name": "Admin"}}}


async def test_a_json_body_has_its_own_small_limit(settings: Settings, world: World) -> None:
    # given a JSON request of 1.5 MB, under the upload limit but over the JSON one
    body = {"query": "query ($pad: String) { me { name } }", "variables": {"pad": "x" * 1_500_000}}
    headers = {"Authorization": f"Bearer {world.token('admin')}"}
    async with http_client_on(settings) as http:
        refused = await http.post("/graphql", json=body, headers=headers)
    # then it is refused as too large
    assert refused.status_code == 413
    assert _codes(refused.json()) == ["REQUEST_TOO_LARGE"]
    # and the limit is a setting
    async with http_client_on(replace(settings, max_json_body_bytes=4_000_000)) as http:
        answered = await http.post("/graphql", json=body, headers=headers)
    assert answered.status_code == 200, answered.text


@pytest.mark.parametrize(
    "request_body",
    [
        '{"query": "{ me { name } }", "variables": {"v": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        '{"query": "{ me { name } }", "extensions": {"e": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["variables", "extensions", "body"],
)
async def test_deeply_nested_json_is_a_bad_request(
    settings: Settings, world: World, request_body: str
) -> None:
    headers = {
        "Authorization": f"Bearer {world.token('admin')}",
        "Content-Type": "application/json",
    }
    async with http_client_on(settings) as http:
        response = await http.post("/graphql", content=request_body, headers=headers)
    assert response.status_code == 400, response.text


async def test_deeply_nested_variables_over_get_are_a_bad_request(
    settings: Settings, world: World
) -> None:
    params = {"query": "{ me { name } }", "variables": "[" * 5_000 + "]" * 5_000}
    headers = {"Authorization": f"Bearer {world.token('admin')}"}
    async with http_client_on(settings) as http:
        response = await http.get("/graphql", params=params, headers=headers)
    assert response.status_code == 400, response.text


@pytest.fixture
async def address(settings: Settings) -> AsyncIterator[str]:
    """A live server whose cost limit a subscription to one credential's id exceeds."""
    config = replace(settings, expiry_scheduler=False, max_query_cost=1)
    async with live_app(config, TestClock(datetime(2027, 3, 1, tzinfo=UTC))) as (_, where):
        yield where


async def test_a_subscription_is_held_to_the_same_limits_as_a_query(
    address: str, world: World
) -> None:
    # given a service whose cost limit a query of one credential's id exceeds
    async with subscriber(address, world.token("admin")) as client:
        # when a subscription that costs as much is started, then it is refused
        refused = await client.subscribe(COSTLY_EVENTS)
        message = await client.receive()
        assert message["id"] == refused
        assert message["type"] == "error", message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["QUERY_TOO_COSTLY"]
        # and so is one made long by a comment
        padded = await client.subscribe(LONG_COMMENT + "subscription { credentialEvents { kind } }")
        message = await client.receive()
        assert (message["id"], message["type"]) == (padded, "error"), message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["QUERY_TOO_LARGE"]


async def test_deeply_nested_json_over_websocket_closes_as_a_bad_message(
    address: str, world: World
) -> None:
    async with connect(f"ws://{address}/graphql", subprotocols=[PROTOCOL]) as socket:
        await socket.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {world.token('admin')}"},
                }
            )
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            '{"id": "1", "type": "subscribe", "payload": ' + "[" * 100_000 + "]" * 100_000 + "}"
        )
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
