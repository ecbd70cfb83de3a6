"""The service as a real uvicorn process, over real sockets: start-up, demo tokens,
authentication, GraphiQL, request ids, health and readiness, WebSocket handshakes,
restarts, an unreachable broker, and PostgreSQL + Redis."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from services.demo import DEMO_ORGANIZATION, USERS
from tests.server.process import (
    RunningServer,
    is_listening,
    running_server,
    serve_until_exit,
)
from tests.services import migrate_with_cli, services_or_skip

ME_QUERY = "{ me { name } }"
USERS_TOTAL_QUERY = "{ users { totalCount } }"
ADMIN = "Ada Admin"
DEMO_NAMES = {user.name for user in USERS}
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
REJECTED_CONNECTION = 4403
# What the request-id middleware keeps from a client; anything else is replaced.
WELL_FORMED_REQUEST_ID = r"^[A-Za-z0-9._-]{8,64}$"


def _sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'x.db'}"


def _post(
    http: httpx.Client, query: str, token: str | None = None, authorization: str | None = None
) -> httpx.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return http.post("/graphql", json={"query": query}, headers=headers)


def _data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _http(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, trust_env=False, timeout=10.0)


def _ws(server: RunningServer, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(
        server.graphql_ws_url,
        subprotocols=[GRAPHQL_TRANSPORT_WS],
        additional_headers=headers,
        proxy=None,
        open_timeout=10,
        close_timeout=5,
    )


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    directory = tmp_path_factory.mktemp("serve-e2e")
    with running_server({"DATABASE_URL": _sqlite_url(directory)}) as server:
        yield server


@pytest.fixture(scope="module")
def http(demo_server: RunningServer) -> Iterator[httpx.Client]:
    with _http(demo_server) as client:
        yield client


@pytest.fixture(scope="module")
def demo_tokens(demo_server: RunningServer) -> dict[str, str]:
    return demo_server.demo_tokens()


# --- start-up and authentication over HTTP -------------------------------------------------


def test_start_up_prints_a_token_for_every_demo_user(demo_server: RunningServer) -> None:
    # Given a service started on a fresh SQLite file in dev (demo data on by default)
    # When its start-up output is read
    tokens = demo_server.demo_tokens()

    # Then every demo user is listed with a token, before uvicorn reports start-up complete
    assert set(tokens) == DEMO_NAMES
    assert all(token.startswith("cred_") for token in tokens.values())
    text = demo_server.output.text
    assert text.index("Demo users and their API tokens") < text.index(
        "Application startup complete"
    )


def test_each_demo_token_answers_me_with_its_own_user(
    http: httpx.Client, demo_tokens: dict[str, str]
) -> None:
    # Given the printed demo tokens
    for name, token in demo_tokens.items():
        # When each asks who it is
        data = _data(_post(http, ME_QUERY, token))

        # Then the service answers with that demo user
        assert data == {"me": {"name": name}}


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer not-a-token", id="garbage-token"),
        pytest.param("Bearer cred_" + "A" * 43, id="unknown-token"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
        pytest.param("Bearer", id="empty-bearer"),
    ],
)
def test_operations_without_a_valid_token_are_refused_with_401(
    http: httpx.Client, authorization: str | None
) -> None:
    # Given a request without a usable API token
    # When it asks for the viewer
    response = _post(http, ME_QUERY, authorization=authorization)

    # Then it is refused before any resolver runs, the way HTTP clients expect
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in body["errors"][0]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_graphiql_page_is_served_without_a_token(http: httpx.Client) -> None:
    # Given a browser opening the endpoint (dev: GraphiQL on)
    # When it asks for HTML without any token
    response = http.get("/graphql", headers={"Accept": "text/html"})

    # Then it gets the GraphiQL page
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL" in response.text


def test_a_query_over_get_still_needs_a_token(http: httpx.Client) -> None:
    # Given a browser-like GET that carries an operation
    # When it is sent without a token, even asking for HTML
    response = http.get("/graphql", params={"query": ME_QUERY}, headers={"Accept": "text/html"})

    # Then only the IDE page is public: the operation is refused
    assert response.status_code == 401


# --- health, readiness and request ids -----------------------------------------------------


def test_healthz_answers_ok(http: httpx.Client) -> None:
    # When the liveness probe is asked
    response = http.get("/healthz")

    # Then it answers at once
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database_and_broadcast_ready(http: httpx.Client) -> None:
    # Given a service on SQLite with the in-process broadcast
    # When the readiness probe is asked
    response = http.get("/readyz")

    # Then both dependencies are checked and ready
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "broadcast": True}}


@pytest.mark.parametrize(
    ("method", "path", "accept", "authenticated", "status"),
    [
        ("GET", "/healthz", None, False, 200),
        ("GET", "/readyz", None, False, 200),
        ("GET", "/graphql", "text/html", False, 200),
        ("POST", "/graphql", None, False, 401),
        ("POST", "/graphql", None, True, 200),
        ("GET", "/no-such-page", None, False, 404),
    ],
)
def test_every_response_carries_a_fresh_request_id(
    http: httpx.Client,
    demo_tokens: dict[str, str],
    method: str,
    path: str,
    accept: str | None,
    authenticated: bool,
    status: int,
) -> None:
    # Given a request that brings no X-Request-ID of its own
    headers = {"Accept": accept} if accept else {}
    if authenticated:
        headers["Authorization"] = f"Bearer {demo_tokens[ADMIN]}"
    body = {"query": ME_QUERY} if method == "POST" else None

    # When it is sent twice
    first, second = (http.request(method, path, headers=headers, json=body) for _ in range(2))

    # Then each response, whatever its status, carries an id of its own
    assert first.status_code == second.status_code == status
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    for response in (first, second):
        assert response.headers["X-Request-ID"]
        assert re.match(WELL_FORMED_REQUEST_ID, response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    ("incoming", "echoed"),
    [
        pytest.param("trace-0001.abc_DEF", True, id="well-formed"),
        pytest.param("a" * 64, True, id="longest"),
        pytest.param("abcdefgh", True, id="shortest"),
        pytest.param("abcdefg", False, id="too-short"),
        pytest.param("a" * 65, False, id="too-long"),
        pytest.param("has space inside", False, id="space"),
        pytest.param("x/../../etc/passwd", False, id="slashes"),
    ],
)
def test_a_well_formed_incoming_request_id_is_echoed_and_others_replaced(
    http: httpx.Client, incoming: str, echoed: bool
) -> None:
    # Given a request that brings its own X-Request-ID (as a tracing proxy would)
    # When it is sent
    response = http.get("/healthz", headers={"X-Request-ID": incoming})

    # Then a well-formed id is kept, anything else replaced by a fresh well-formed one
    returned = response.headers["X-Request-ID"]
    if echoed:
        assert returned == incoming
    else:
        assert returned != incoming
        assert re.match(WELL_FORMED_REQUEST_ID, returned)


# --- WebSocket (graphql-transport-ws) ------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer ", ""], ids=["bearer", "bare-token"])
def test_websocket_connection_init_with_a_demo_token_is_acknowledged(
    demo_server: RunningServer, demo_tokens: dict[str, str], scheme: str
) -> None:
    # Given a WebSocket speaking graphql-transport-ws
    with _ws(demo_server) as ws:
        assert ws.subprotocol == GRAPHQL_TRANSPORT_WS

        # When it initialises the connection with a demo token
        init = {
            "type": "connection_init",
            "payload": {"Authorization": scheme + demo_tokens[ADMIN]},
        }
        ws.send(json.dumps(init))

        # Then the server acknowledges it
        assert json.loads(ws.recv(timeout=10)) == {"type": "connection_ack"}


@pytest.mark.parametrize(
    "init",
    [
        pytest.param({"type": "connection_init"}, id="no-payload"),
        pytest.param({"type": "connection_init", "payload": {}}, id="no-token"),
        pytest.param(
            {"type": "connection_init", "payload": {"Authorization": "Bearer garbage"}},
            id="garbage-token",
        ),
        pytest.param(
            {"type": "connection_init", "payload": {"Authorization": 42}}, id="not-a-string"
        ),
    ],
)
def test_websocket_without_a_valid_token_is_closed_with_4403(
    demo_server: RunningServer, init: dict[str, Any]
) -> None:
    # Given a WebSocket speaking graphql-transport-ws
    with _ws(demo_server) as ws:
        # When it initialises the connection without a valid token
        ws.send(json.dumps(init))

        # Then the server closes it as forbidden, without an acknowledgement
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == REJECTED_CONNECTION


def test_websocket_handshake_echoes_the_request_id(demo_server: RunningServer) -> None:
    # Given a WebSocket handshake that brings its own X-Request-ID
    with _ws(demo_server, headers={"X-Request-ID": "trace-ws-0001"}) as ws:
        # Then the handshake response echoes it
        assert ws.response is not None
        assert ws.response.headers.get("X-Request-ID") == "trace-ws-0001"


# --- restarts ------------------------------------------------------------------------------


def _demo_organizations(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM organizations WHERE name = ?", (DEMO_ORGANIZATION,)
        ).fetchone()
    connection.close()
    return int(count)


def test_a_second_start_on_the_same_file_does_not_duplicate_the_demo_organization(
    tmp_path: Path,
) -> None:
    # Given a service that loaded the demo data into a file, then stopped on SIGTERM
    env = {"DATABASE_URL": _sqlite_url(tmp_path)}
    with running_server(env) as first, _http(first) as http:
        first_tokens = first.demo_tokens()
        users_before = _data(_post(http, USERS_TOTAL_QUERY, first_tokens[ADMIN]))
    assert "Application shutdown complete" in first.output.text  # the lifespan closed cleanly

    # When it starts again on the same file
    with running_server(env) as second, _http(second) as http:
        second_tokens = second.demo_tokens()
        me = _data(_post(http, ME_QUERY, first_tokens[ADMIN]))
        users_after = _data(_post(http, USERS_TOTAL_QUERY, first_tokens[ADMIN]))

    # Then the same tokens still work and the admin sees the same users: nothing doubled
    assert second_tokens == first_tokens
    assert me == {"me": {"name": ADMIN}}
    assert users_after == users_before == {"users": {"totalCount": len(USERS)}}
    assert _demo_organizations(tmp_path / "x.db") == 1


def test_demo_tokens_printed_after_the_secret_key_changed_still_work(tmp_path: Path) -> None:
    # Given demo data loaded under the default development key
    env = {"DATABASE_URL": _sqlite_url(tmp_path)}
    with running_server(env):
        pass

    # When the service starts again with another SECRET_KEY
    with running_server({**env, "SECRET_KEY": "another-development-key"}) as server:
        printed = server.demo_tokens()[ADMIN]
        with _http(server) as http:
            response = _post(http, ME_QUERY, printed)

    # Then the tokens it prints authenticate
    assert response.status_code == 200, response.text


# --- an unreachable broker -----------------------------------------------------------------


def test_an_unreachable_broker_makes_the_service_not_ready(tmp_path: Path) -> None:
    # Given a broker URL where nothing listens
    env = {"DATABASE_URL": _sqlite_url(tmp_path), "BROADCAST_URL": "redis://127.0.0.1:1/0"}

    # When the service is started and asked whether it is ready
    with running_server(env, timeout=20) as server, _http(server) as http:
        response = http.get("/readyz")

    # Then it says it is not, and why
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broadcast": False}


# --- PostgreSQL + Redis --------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_refuses_to_start_unmigrated_then_serves_after_migrate(
    fresh_postgres_url: str,
) -> None:
    # Given an empty PostgreSQL database (migrations are a deploy step there)
    _, redis_url = services_or_skip()
    env = {"DATABASE_URL": fresh_postgres_url, "LOAD_DEMO_DATA": "true"}

    # When the service is started on it
    exited = serve_until_exit(env)

    # Then it refuses, says what to run, and never listens
    assert exited.returncode != 0
    assert "credentials-api migrate" in exited.output
    assert "Uvicorn running" not in exited.output
    assert not is_listening(exited.port)

    # When the operator migrates with the CLI
    migrated = migrate_with_cli(fresh_postgres_url)

    # Then it reports every migration it applied, up to the one now in force
    report = json.loads(migrated)
    assert report["migrated"] is True
    assert report["applied"][0].startswith("0001_identity ")
    assert report["applied"][-1].startswith(report["revision"] + " ")

    # When the service starts again, with Redis as the broadcast backend
    with running_server({**env, "BROADCAST_URL": redis_url}) as server, _http(server) as http:
        ready = http.get("/readyz")
        answers = {
            name: _post(http, ME_QUERY, token) for name, token in server.demo_tokens().items()
        }

    # Then it is ready on both, and every demo token answers with its user
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True, "broadcast": True}
    assert set(answers) == DEMO_NAMES
    for name, response in answers.items():
        assert _data(response) == {"me": {"name": name}}
