"""Authentication over HTTP: every operation needs a live bearer token of an active user;
tokens are stored only as digests, and their last use is recorded at most once a minute."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from models.base import Base
from models.permission import Permission
from models.tenancy import unscoped
from models.token import ApiToken
from models.user import User
from server.auth import authenticate
from server.database import Database
from server.settings import Settings
from services import identity
from tests.clock import TestClock
from tests.conftest import GraphQLClient, body_of, http_client_on
from tests.world import World

ME = "{ me { name } }"
ME_BODY = {"query": ME}
START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in body["errors"][0]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def _last_used_at(database: Database, token_id: int) -> datetime | None:
    async with database.read(unscoped()) as session:
        return await session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("Token x", id="other-scheme"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
        pytest.param("Bearer", id="scheme-alone"),
        pytest.param("Bearer ", id="scheme-and-space"),
        pytest.param("Bearer cred_unknown0000000000000000000000000000000", id="unknown-token"),
        pytest.param("Bearer " + "x" * 500, id="oversized-token"),
    ],
)
async def test_a_request_without_a_valid_token_is_refused(
    graphql: GraphQLClient, world: World, authorization: str | None
) -> None:
    # given an Authorization header that carries no known token (or none at all)
    headers = {} if authorization is None else {"Authorization": authorization}
    # when it asks for the viewer
    response = await graphql.http.post("/graphql", json=ME_BODY, headers=headers)
    # then the request is refused as unauthenticated, before any resolver runs
    _assert_unauthenticated(response)


async def test_a_query_over_get_without_a_token_is_refused(
    graphql: GraphQLClient, world: World
) -> None:
    # when a query arrives in the query string with no token
    response = await graphql.http.get("/graphql", params={"query": ME})
    # then it is refused like a POST would be
    _assert_unauthenticated(response)


async def test_a_valid_token_answers_me(graphql: GraphQLClient, world: World) -> None:
    # given the token of an active worker
    # when they ask who they are
    body = await graphql.execute(ME, token=world.token("acme_worker"))
    # then the API answers with their own name
    assert body == {"data": {"me": {"name": "Acme Worker"}}}


async def test_the_bearer_scheme_is_case_insensitive(graphql: GraphQLClient, world: World) -> None:
    # given a scheme spelled in lower case (RFC 9110: schemes are case-insensitive)
    headers = {"Authorization": f"bearer {world.token('employee')}"}
    # when it is sent
    response = await graphql.http.post("/graphql", json=ME_BODY, headers=headers)
    # then the token is accepted
    assert response.status_code == 200, response.text
    assert body_of(response) == {"data": {"me": {"name": "Employee"}}}


async def test_a_bare_token_without_a_scheme_is_refused_over_http(
    graphql: GraphQLClient, world: World
) -> None:
    # given a header holding the token alone, as the 401 message says not to send it
    token = world.token("employee")
    # when it is sent over HTTP, by POST and by GET
    posted = await graphql.http.post("/graphql", json=ME_BODY, headers={"Authorization": token})
    got = await graphql.http.get("/graphql", params={"query": ME}, headers={"Authorization": token})
    # then both are refused: HTTP takes 'Bearer <token>' only (the WebSocket
    # connection_init payload alone may carry the bare token)
    _assert_unauthenticated(posted)
    _assert_unauthenticated(got)
    # while the very same token under the scheme is accepted
    response = await graphql.http.post("/graphql", json=ME_BODY, headers=_bearer(token))
    assert response.status_code == 200, response.text


async def test_a_revoked_token_is_refused(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # given a worker's token that works
    token = world.token("acme_worker")
    assert (await graphql.post(ME, token=token)).status_code == 200
    # when an administrator revokes it
    async with database.transaction(unscoped()) as session:
        await identity.revoke_token(
            session, world.north_id, world.token_ids["acme_worker"], datetime.now(UTC)
        )
    # then it no longer authenticates, while other people's tokens still do
    _assert_unauthenticated(await graphql.post(ME, token=token))
    assert (await graphql.post(ME, token=world.token("bolt_worker"))).status_code == 200


async def test_the_token_of_an_inactive_user_is_refused(
    graphql: GraphQLClient, world: World
) -> None:
    # given a deactivated user whose token was never revoked
    # when they use it
    response = await graphql.post(ME, token=world.token("inactive"))
    # then they are not let in
    _assert_unauthenticated(response)


async def test_deactivating_a_user_shuts_out_their_existing_token(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # given an employee whose token works
    token = world.token("employee")
    assert (await graphql.post(ME, token=token)).status_code == 200
    # when the employee is deactivated
    async with database.transaction(unscoped()) as session:
        await session.execute(
            update(User).where(User.id == world.user_ids["employee"]).values(is_active=False)
        )
    # then the next request with the same token is refused
    _assert_unauthenticated(await graphql.post(ME, token=token))


async def test_the_database_never_holds_a_token_in_clear(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # given every world token used once, so that last use was recorded too
    for token in world.tokens.values():
        await graphql.post(ME, token=token)
    # when every row of every table is read back
    async with database.read(unscoped()) as session:
        stored = {
            table.name: [tuple(row) for row in await session.execute(select(table))]
            for table in Base.metadata.sorted_tables
        }
        hashes = {
            token_id: digest
            for token_id, digest in await session.execute(select(ApiToken.id, ApiToken.token_hash))
        }
    # then each token is stored as its SHA-256 hex digest only
    for role, token in world.tokens.items():
        assert hashes[world.token_ids[role]] == hashlib.sha256(token.encode()).hexdigest()
    # and no column of any row contains a clear token
    assert len(stored["api_tokens"]) == len(world.tokens)
    for table_name, rows in stored.items():
        for row in rows:
            for value in row:
                for token in world.tokens.values():
                    assert token not in str(value), f"a clear token in {table_name}"


async def test_tokens_are_never_logged(
    graphql: GraphQLClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # given every logger recording everything
    caplog.set_level(logging.DEBUG)
    # when a good, a revoked-looking and a malformed token are sent
    token = world.token("admin")
    await graphql.post(ME, token=token)
    await graphql.post(ME, token=token + "x")
    await graphql.http.post("/graphql", json=ME_BODY, headers={"Authorization": f"Token {token}"})
    # then no log record carries the token
    assert token not in caplog.text
    assert all(token not in record.getMessage() for record in caplog.records)


async def test_last_use_is_recorded_at_most_once_a_minute(
    settings: Settings, world: World, database: Database
) -> None:
    # given an app on a clock the test moves, and a token never used
    clock = TestClock(START)
    token_id = world.token_ids["acme_worker"]
    headers = _bearer(world.token("acme_worker"))
    assert await _last_used_at(database, token_id) is None
    async with http_client_on(settings, clock) as http:
        # when the token is used for the first time
        assert (await http.post("/graphql", json=ME_BODY, headers=headers)).status_code == 200
        # then its last use is the clock's time
        assert await _last_used_at(database, token_id) == START

        # when it is used again within the minute
        clock.advance(timedelta(seconds=59))
        assert (await http.post("/graphql", json=ME_BODY, headers=headers)).status_code == 200
        # then the recorded time is not rewritten
        assert await _last_used_at(database, token_id) == START

        # when the clock moves past a minute since the recorded use
        clock.advance(timedelta(seconds=2))
        assert (await http.post("/graphql", json=ME_BODY, headers=headers)).status_code == 200
        # then the new time is recorded
        assert await _last_used_at(database, token_id) == START + timedelta(seconds=61)

        # when it is used again within a minute of that
        clock.advance(timedelta(seconds=30))
        assert (await http.post("/graphql", json=ME_BODY, headers=headers)).status_code == 200
        # then the recorded time stays
        assert await _last_used_at(database, token_id) == START + timedelta(seconds=61)
    # and tokens that were not used still have no last use
    assert await _last_used_at(database, world.token_ids["bolt_worker"]) is None


async def test_a_refused_token_records_no_use(
    settings: Settings, world: World, database: Database
) -> None:
    # given a token of an inactive user, which is stored but must not authenticate
    clock = TestClock(START)
    token_id = world.token_ids["inactive"]
    async with http_client_on(settings, clock) as http:
        # when it is sent
        response = await http.post(
            "/graphql", json=ME_BODY, headers=_bearer(world.token("inactive"))
        )
    # then it is refused and leaves no trace of use
    _assert_unauthenticated(response)
    assert await _last_used_at(database, token_id) is None


async def test_a_token_stands_for_its_user_with_their_permissions_and_companies(
    database: Database, world: World
) -> None:
    # given a second company managed by the company manager, who is key contact of a third
    async with database.transaction(unscoped()) as session:
        await identity.add_company_manager(
            session, world.north_id, world.bolt_id, world.user_ids["company_manager"]
        )
        await identity.add_key_contact(
            session, world.north_id, world.acme_id, world.user_ids["company_manager"]
        )
    clock = TestClock(START)
    # when each token authenticates
    manager = await authenticate(database, world.token("company_manager"), clock)
    contact = await authenticate(database, world.token("bolt_contact"), clock)
    worker = await authenticate(database, world.token("south_worker"), clock)
    # then each viewer is its user, as the command line's viewer of that user is
    assert manager is not None
    assert contact is not None
    assert worker is not None
    assert manager.managed_company_ids == {world.acme_id, world.bolt_id}
    assert manager.key_contact_company_ids == {world.acme_id}
    assert manager.permissions == {Permission.COMPANIES_MANAGE}
    assert contact.key_contact_company_ids == {world.bolt_id}
    assert contact.managed_company_ids == frozenset()
    assert worker.organization_id == world.south_id
    assert worker.company_id == world.south_company_id
    assert worker.permissions == frozenset()
    for role, viewer in (
        ("company_manager", manager),
        ("bolt_contact", contact),
        ("south_worker", worker),
    ):
        async with database.read(unscoped()) as session:
            expected = await identity.viewer_of_user(session, world.user_ids[role])
        assert viewer == replace(expected, token_id=world.token_ids[role])
