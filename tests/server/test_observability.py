"""What operators see: Prometheus metrics at /metrics and one JSON log line per operation,
with the request id and who asked, and never a token."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from server.logs import JsonFormatter
from server.metrics import MAX_OPERATION_NAMES
from tests.conftest import GraphQLClient
from tests.server.process import running_server
from tests.world import World

ME = "query Me { me { name } }"
CREATE_TYPE = """
mutation CreateType { createCredentialType(input: { name: "Forklift" }) { errors { code } } }
"""


def _sample(exposition: str, prefix: str) -> float:
    """The value of the one sample line that starts with `prefix`."""
    [line] = [line for line in exposition.splitlines() if line.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


async def _metrics(graphql: GraphQLClient) -> str:
    response = await graphql.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_operations_requests_and_error_codes_are_counted(
    graphql: GraphQLClient, world: World
) -> None:
    # given two named queries, a refused mutation and an unauthenticated request
    await graphql.execute(ME, token=world.token("admin"))
    await graphql.execute(ME, token=world.token("employee"))
    await graphql.execute(CREATE_TYPE, token=world.token("employee"))
    await graphql.post(ME)
    # when the metrics are read
    exposition = await _metrics(graphql)
    # then each shows up under its own labels
    operations = 'graphql_operation_duration_seconds_count{operation="Me",type="query"}'
    assert _sample(exposition, operations) == 2
    refused = 'graphql_errors_total{code="PERMISSION_DENIED"}'
    assert _sample(exposition, refused) == 1
    assert _sample(exposition, 'http_requests_total{route="/graphql",status="401"}') == 1
    assert _sample(exposition, 'http_requests_total{route="/graphql",status="200"}') == 3


async def test_client_chosen_operation_names_cannot_grow_the_metrics_without_bound(
    graphql: GraphQLClient, world: World
) -> None:
    # when a client sends more distinct operation names than are admitted as labels
    for index in range(MAX_OPERATION_NAMES + 5):
        await graphql.execute(f"query Name{index} {{ me {{ name }} }}", token=world.token("admin"))
    # then the surplus is counted as "other"
    exposition = await _metrics(graphql)
    other = 'graphql_operation_duration_seconds_count{operation="other",type="query"}'
    assert _sample(exposition, other) == 5
    assert exposition.count("graphql_operation_duration_seconds_count{") == MAX_OPERATION_NAMES + 1


async def test_each_operation_is_logged_once_with_who_asked_and_no_token(
    graphql: GraphQLClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credentials.graphql")
    # when an admin runs a named query
    response = await graphql.post(ME, token=world.token("admin"))
    # then one record tells the operation, its request id, the user and the organization
    [record] = [r for r in caplog.records if r.name == "credentials.graphql"]
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "graphql operation"
    assert line["operation"] == "Me"
    assert line["operation_type"] == "query"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["user_id"] == world.user_ids["admin"]
    assert line["organization_id"] == world.north_id
    assert line["error_codes"] == []
    assert line["duration_ms"] >= 0
    # and no record of the request holds the token
    formatted = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert world.token("admin") not in formatted


def test_the_served_process_logs_json_lines(tmp_path: Path) -> None:
    # given the service running as a real process
    with running_server({"DATABASE_URL": f"sqlite:///{tmp_path}/logs.db"}) as server:
        pass
    # then what it printed as logs (not the demo tokens banner) is JSON, one object a line
    logs = [line for line in server.output.text.splitlines() if line.startswith("{")]
    assert logs, server.output.text
    parsed = [json.loads(line) for line in logs]
    assert any("Application startup complete" in entry["message"] for entry in parsed)
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in parsed)
