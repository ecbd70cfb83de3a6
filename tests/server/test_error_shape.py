"""One error shape everywhere: JSON with `errors[].extensions.code`, an X-Request-ID, and
the status GraphQL over HTTP gives it (with `application/graphql-response+json` when the
client accepts it); internal errors counted under their own code."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import strawberry

from schema import CredentialsSchema, schema_extensions
from schema.limits import DEFAULT_LIMITS
from server.metrics import Metrics
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import http_client_on
from tests.events.live import live_app, subscriber
from tests.world import World

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
async def http(settings: Settings, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client_on(settings) as client:
        client.headers["Authorization"] = f"Bearer {world.token('admin')}"
        yield client


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["x-request-id"], response.headers
    assert response.headers["content-type"].startswith(("application/json", GRAPHQL_RESPONSE))
    [error] = response.json()["errors"]
    assert isinstance(error["message"], str)
    return dict(error)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ me { name }"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ me { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {
                "query": "query ($f: Int!) { users(first: $f) { totalCount } }",
                "variables": {"f": "x"},
            },
            "BAD_USER_INPUT",
        ),
    ],
    ids=["parse", "validation", "variable"],
)
async def test_request_errors_are_coded_and_400_for_the_graphql_response_type(
    http: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    # when a document that cannot run is sent by a legacy client and by a current one
    legacy = await http.post("/graphql", json=body)
    current = await http.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    # then both read the error's code; the legacy client gets 200 with data null, the
    # current one 400, its media type and no data
    assert legacy.status_code == 200
    assert _error(legacy)["extensions"]["code"] == code
    assert legacy.json()["data"] is None
    assert current.status_code == 400, current.text
    assert current.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert _error(current)["extensions"]["code"] == code
    assert "data" not in current.json()


async def test_a_response_with_data_is_200_for_either_type(http: httpx.AsyncClient) -> None:
    body = {"query": "{ me { name } }"}
    response = await http.post("/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert response.json()["data"] == {"me": {"name": "Admin"}}


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "code"),
    [
        ("get", {"params": {"query": "mutation { __typename }"}}, 405, "METHOD_NOT_ALLOWED"),
        ("post", {"json": [{"query": "{ me { name } }"}] * 2}, 400, "BAD_REQUEST"),
        (
            "post",
            {"json": {"query": "subscription { credentialEvents { kind } }"}},
            400,
            "BAD_REQUEST",
        ),
        (
            "post",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "BAD_REQUEST",
        ),
        ("post", {"content": b"x", "headers": {"Content-Type": "text/plain"}}, 400, "BAD_REQUEST"),
        ("post", {"json": {"variables": {}}}, 400, "BAD_REQUEST"),
        ("get", {"url": "/nowhere"}, 404, "NOT_FOUND"),
        ("delete", {}, 405, "METHOD_NOT_ALLOWED"),
        (
            "get",
            {"url": "/credentials/export.csv", "params": {"filter": "{"}},
            400,
            "BAD_USER_INPUT",
        ),
    ],
    ids=[
        "get-mutation",
        "batch",
        "subscription-over-http",
        "malformed-json",
        "content-type",
        "no-query",
        "unknown-route",
        "method",
        "export-filter",
    ],
)
async def test_http_refusals_are_typed_json(
    http: httpx.AsyncClient, method: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by every backend's run
    url = kwargs.pop("url", "/graphql")
    response = await http.request(method.upper(), url, **kwargs)
    assert response.status_code == status, response.text
    assert _error(response)["extensions"]["code"] == code


async def test_an_internal_error_is_counted_under_its_own_code() -> None:
    # given the product's extensions on a schema with a field that fails with a bug
    @strawberry.type
    class Query:
        @strawberry.field
        def broken(self) -> str | None:
            raise RuntimeError("a bug")

    @dataclass
    class Context:
        metrics: Metrics = field(default_factory=Metrics)
        request_id: str = "req-internal"
        viewer: None = None
        settings: None = None
        error_codes: list[str] = field(default_factory=list)

    schema = CredentialsSchema(query=Query, extensions=schema_extensions(DEFAULT_LIMITS))
    context = Context()
    # when it is executed
    result = await schema.execute("{ broken }", context_value=context)
    # then the client reads INTERNAL_SERVER_ERROR, and the metrics count it so
    assert result.errors is not None
    assert result.errors[0].extensions is not None
    assert result.errors[0].extensions["code"] == "INTERNAL_SERVER_ERROR"
    sample = context.metrics.registry.get_sample_value(
        "graphql_errors_total", {"code": "INTERNAL_SERVER_ERROR"}
    )
    assert sample == 1.0
    validation = context.metrics.registry.get_sample_value(
        "graphql_errors_total", {"code": "GRAPHQL_VALIDATION_FAILED"}
    )
    assert validation is None


async def test_a_syntax_error_over_websocket_is_an_error_message(
    settings: Settings, world: World
) -> None:
    config = replace(settings, expiry_scheduler=False)
    async with (
        live_app(config, TestClock(datetime(2027, 3, 1, tzinfo=UTC))) as (_, address),
        subscriber(address, world.token("admin")) as client,
    ):
        # when a subscription that does not parse is sent
        operation = await client.subscribe("subscription { credentialEvents { kind }")
        message = await client.receive()
        # then the client is told, on a connection that stays open
        assert (message["id"], message["type"]) == (operation, "error"), message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["GRAPHQL_PARSE_FAILED"]
        await client.socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await client.socket.recv())["type"] == "pong"
