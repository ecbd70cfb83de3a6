"""Errors reach clients as the house style says: bugs masked behind an error id that the log
carries with the traceback, coded public errors and GraphQL's own errors unchanged;
introspection follows the settings; queries (never mutations) may come over GET."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLError

from resolvers.errors import BadInputError, NotAuthenticatedError, PublicError
from schema import CredentialsSchema
from schema.errors import MaskUnexpectedErrors
from server.app import create_app
from server.settings import Settings
from tests.conftest import GraphQLClient, body_of
from tests.world import World

MASKED_MESSAGE = re.compile(r"^Internal server error \(error id (?P<id>[0-9a-f]{32})\)\.$")
SECRET_DETAIL = "connection string postgresql://secret@db"

BROKEN = "query Broken { broken }"
PARTLY_BROKEN = "query PartlyBroken { fine broken }"
REFUSED = "query Refused($kind: String!) { refused(kind: $kind) }"

INTROSPECT_SCHEMA = "query Introspect { __schema { types { name } } }"
INTROSPECT_TYPE = 'query IntrospectType { __type(name: "User") { name } }'
ME = "query Me { me { name } }"
ME_TYPENAME = "query MeTypename { me { __typename name } }"


class _QuotaExceededError(PublicError):
    code = "QUOTA_EXCEEDED"


_PUBLIC_ERRORS: dict[str, type[PublicError]] = {
    "quota": _QuotaExceededError,
    "input": BadInputError,
    "auth": NotAuthenticatedError,
}


@strawberry.type
class _Query:
    @strawberry.field
    def fine(self) -> str:
        return "ok"

    @strawberry.field
    def broken(self) -> str | None:
        raise RuntimeError(SECRET_DETAIL)

    @strawberry.field
    def refused(self, kind: str) -> str | None:
        raise _PUBLIC_ERRORS[kind]("You may not do that: ask an administrator.")


# The product's schema class, so that its error handling (and logging) is the product's.
_SCHEMA = CredentialsSchema(query=_Query, extensions=[MaskUnexpectedErrors])


@dataclass
class _Context:
    request_id: str


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """An in-process client for an app of its own, built from `settings`."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)
    finally:
        await app.state.database.dispose()


def _error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "credentials.errors"]


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


async def test_an_unexpected_error_is_masked_and_logged_under_an_error_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a field that fails with a bug whose message holds internal details
    caplog.set_level(logging.ERROR, logger="credentials.errors")
    # when it is executed in a request with an id
    result = await _SCHEMA.execute(BROKEN, context_value=_Context(request_id="req-0123456789"))
    # then the client gets a generic message with an error id and the code
    assert result.errors is not None
    [error] = result.errors
    match = MASKED_MESSAGE.match(error.message)
    assert match is not None, error.message
    error_id = match["id"]
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id}
    assert error.path == ["broken"]
    assert SECRET_DETAIL not in str(error.formatted)
    # and the log has one record under that id, with the request id and the traceback
    [record] = _error_records(caplog)
    assert record.levelno == logging.ERROR
    assert error_id in record.getMessage()
    assert "req-0123456789" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    traceback = logging.Formatter().formatException(record.exc_info)
    assert "Traceback" in traceback
    assert f"RuntimeError: {SECRET_DETAIL}" in traceback
    assert "in broken" in traceback


async def test_each_unexpected_error_gets_its_own_id(caplog: pytest.LogCaptureFixture) -> None:
    # given the same bug hit twice
    caplog.set_level(logging.ERROR, logger="credentials.errors")
    first = await _SCHEMA.execute(BROKEN)
    second = await _SCHEMA.execute(BROKEN)
    # then each occurrence has an id of its own, in the response and in the log
    assert first.errors is not None
    assert second.errors is not None
    ids = [e.extensions["errorId"] for e in [*first.errors, *second.errors] if e.extensions]
    assert len(set(ids)) == 2
    assert [i for i in ids if any(i in r.getMessage() for r in _error_records(caplog))] == ids


async def test_a_masked_error_leaves_the_other_fields_alone() -> None:
    # when a healthy field and a broken one are asked for together
    result = await _SCHEMA.execute(PARTLY_BROKEN)
    # then the healthy one answers and only the broken one is null and masked
    assert result.data == {"fine": "ok", "broken": None}
    assert result.errors is not None
    [error] = result.errors
    assert error.path == ["broken"]
    assert error.extensions is not None
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    ("kind", "code"),
    [("quota", "QUOTA_EXCEEDED"), ("input", "BAD_USER_INPUT"), ("auth", "UNAUTHENTICATED")],
)
async def test_a_public_error_passes_through_with_its_code(
    caplog: pytest.LogCaptureFixture, kind: str, code: str
) -> None:
    # given a field that refuses with an expected, coded error
    caplog.set_level(logging.ERROR, logger="credentials.errors")
    # when it is executed
    result = await _SCHEMA.execute(REFUSED, variable_values={"kind": kind})
    # then the client gets the message and code as raised, and nothing is logged as a bug
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "You may not do that: ask an administrator."
    assert error.extensions == {"code": code}
    assert isinstance(error.original_error, GraphQLError)
    assert _error_records(caplog) == []


@pytest.mark.parametrize(
    ("document", "variables", "message"),
    [
        pytest.param(
            "query { me { nope } }", {}, "Cannot query field 'nope' on type 'User'.", id="field"
        ),
        pytest.param("query { me { name }", {}, "Syntax Error", id="syntax"),
        pytest.param(
            "query { users { edges } }", {}, "must have a selection of subfields", id="leaf"
        ),
        pytest.param(
            "query ($f: Int!) { users(first: $f) { totalCount } }",
            {"f": "many"},
            "Variable '$f' has invalid value",
            id="variable",
        ),
        pytest.param(
            "query { users(first: 1, sort: NAME) { totalCount } }",
            {},
            "Unknown argument 'sort'",
            id="argument",
        ),
    ],
)
async def test_graphql_errors_pass_through_the_real_app_unmasked(
    graphql: GraphQLClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
    document: str,
    variables: dict[str, Any],
    message: str,
) -> None:
    caplog.set_level(logging.ERROR, logger="credentials.errors")
    # when a document that GraphQL itself rejects is sent
    response = await graphql.post(document, variables, world.token("admin"))
    # then the client reads GraphQL's own explanation, not a masked one
    body = response.json()
    assert response.status_code in (200, 400), response.text
    assert body.get("data") is None
    [error] = body["errors"]
    assert message in error["message"]
    assert "INTERNAL_SERVER_ERROR" not in _codes(body)
    assert "errorId" not in error.get("extensions", {})
    assert _error_records(caplog) == []


@pytest.mark.parametrize(
    ("document", "variables", "message"),
    [
        pytest.param("query { me { nope } }", {}, "Cannot query field 'nope'", id="unknown-field"),
        pytest.param("query { me { name }", {}, "Syntax Error", id="syntax"),
        pytest.param(
            "query ($f: Int!) { users(first: $f) { totalCount } }",
            {"f": "many"},
            "Variable '$f' has invalid value",
            id="variable",
        ),
        pytest.param("query { users(first: 0) { totalCount } }", {}, "'first'", id="page-size"),
        pytest.param(
            'query { users(first: 1, after: "garbage") { totalCount } }',
            {},
            "'after'",
            id="cursor",
        ),
        pytest.param('query { nodes(ids: ["garbage"]) { id } }', {}, None, id="undecodable-id"),
    ],
)
async def test_a_clients_mistake_is_not_logged_as_a_server_error(
    graphql: GraphQLClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
    document: str,
    variables: dict[str, Any],
    message: str | None,
) -> None:
    caplog.set_level(logging.WARNING)
    # when a client sends a document it got wrong
    response = await graphql.post(document, variables, world.token("admin"))
    # then it is told why (an id that names nothing is simply not found, without an error)
    body = body_of(response)
    if message is None:
        assert body == {"data": {"nodes": [None]}}
    else:
        [error] = body["errors"]
        assert message in error["message"]
        assert "INTERNAL_SERVER_ERROR" not in _codes(body)
    # and the operator's log holds no error for it
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_unexpected_error_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    # given every logger recording warnings and worse
    caplog.set_level(logging.WARNING)
    # when a bug is hit
    result = await _SCHEMA.execute(BROKEN, context_value=_Context(request_id="req-once"))
    # then the log holds exactly one error for it: the masking extension's, under its id
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions is not None
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.name == "credentials.errors"
    assert error.extensions["errorId"] in record.getMessage()


@pytest.mark.parametrize("document", [INTROSPECT_SCHEMA, INTROSPECT_TYPE], ids=["schema", "type"])
async def test_introspection_is_refused_when_turned_off(
    settings: Settings, world: World, document: str
) -> None:
    # given an app whose settings turn introspection off
    async with _client(replace(settings, introspection=False)) as graphql:
        # when a client introspects the schema
        body = await graphql.execute(document, token=world.token("admin"))
        # then the document fails validation, saying introspection is disabled
        assert body.get("data") is None
        messages = [error["message"] for error in body["errors"]]
        assert all("introspection has been disabled" in m for m in messages), messages
        assert "'__schema'" in messages[0] or "'__type'" in messages[0]
        assert "INTERNAL_SERVER_ERROR" not in _codes(body)
        # while ordinary queries, __typename included, still work
        assert await graphql.execute(ME, token=world.token("admin")) == {
            "data": {"me": {"name": "Admin"}}
        }
        typed = await graphql.execute(ME_TYPENAME, token=world.token("admin"))
        assert typed == {"data": {"me": {"__typename": "User", "name": "Admin"}}}


async def test_introspection_works_when_turned_on(settings: Settings, world: World) -> None:
    # given an app whose settings turn introspection on
    async with _client(replace(settings, introspection=True)) as graphql:
        # when a client introspects the schema
        body = await graphql.execute(INTROSPECT_SCHEMA, token=world.token("employee"))
    # then it gets the types
    assert "errors" not in body
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Query", "User", "Company", "Organization", "UserConnection"} <= names


@pytest.mark.parametrize("order", [(True, False), (False, True)], ids=["on-first", "off-first"])
async def test_the_validation_cache_does_not_carry_introspection_across_settings(
    settings: Settings, world: World, order: tuple[bool, bool]
) -> None:
    # given two apps in one process, sharing the schema and its validation cache,
    # that differ only in whether introspection is allowed
    token = world.token("admin")
    for introspection in order:
        async with _client(replace(settings, introspection=introspection)) as graphql:
            # when each receives the very same introspection document
            body = await graphql.execute(INTROSPECT_SCHEMA, token=token)
        # then each answers by its own setting, whatever the other cached
        if introspection:
            assert "errors" not in body
            assert body["data"]["__schema"]["types"]
        else:
            assert body.get("data") is None
            assert "introspection has been disabled" in body["errors"][0]["message"]


async def test_a_query_over_get_with_a_token_works(graphql: GraphQLClient, world: World) -> None:
    # when a query comes in the query string of a GET, with a token
    response = await graphql.http.get(
        "/graphql",
        params={"query": "{me{name}}"},
        headers={"Authorization": f"Bearer {world.token('bolt_worker')}"},
    )
    # then it is answered like a POST
    assert response.status_code == 200, response.text
    assert body_of(response) == {"data": {"me": {"name": "Bolt Worker"}}}


async def test_a_mutation_over_get_is_refused(graphql: GraphQLClient, world: World) -> None:
    # given a mutation document, valid on any schema that has mutations
    # when it comes over GET
    response = await graphql.http.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"Authorization": f"Bearer {world.token('admin')}"},
    )
    # then GET is refused for it, as GraphQL over HTTP says: 405, and POST is allowed
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    [error] = response.json()["errors"]
    assert "mutations are not allowed when using GET" in error["message"]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
