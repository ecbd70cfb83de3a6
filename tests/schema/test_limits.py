"""Operations beyond the limits are refused with a clear error before anything runs; the
calculated cost of every operation is reported."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest
from graphql import get_introspection_query

from schema import build_schema
from schema.limits import cached_validate
from server.settings import Environment, Settings
from tests.conftest import GraphQLClient, client_on
from tests.world import World

USERS_WITH_COMPANIES = """
query Users($first: Int!) {
  users(first: $first) { totalCount edges { node { name company { name } } } }
}
"""


def _nested(depth: int) -> str:
    """A document whose deepest field is at `depth` (top-level fields are at 0)."""
    steps = ["company", "workers(first: 2)", "edges", "node"]
    body = "name"
    for level in range(depth - 1, 0, -1):
        body = f"{steps[(level - 1) % 4]} {{ {body} }}"
    return f"{{ me {{ {body} }} }}"


async def test_the_cost_of_an_operation_is_reported(graphql: GraphQLClient, world: World) -> None:
    # when a page of 50 users with their companies is asked for
    body = await graphql.execute(USERS_WITH_COMPANIES, {"first": 50}, world.token("admin"))
    # then it runs, and the cost counts the connection, then an edge, a node and a company
    # for each of the 50 items it may return
    assert "errors" not in body
    assert graphql.last_extensions == {
        "cost": {
            "requestedQueryCost": 151,
            "maximumAvailable": 1000,
            # and what is left in the token's rate-limit bucket
            "throttleStatus": {
                "maximumAvailable": 2000,
                "currentlyAvailable": 2000 - 151,
                "restoreRate": 100,
            },
        }
    }


async def test_an_operation_costing_more_than_the_limit_is_refused_before_it_runs(
    graphql: GraphQLClient, world: World
) -> None:
    # given a document that nests two full pages: 100 users x 100 workers each
    document = """
    { users(first: 100) { edges { node { company { workers(first: 100) {
        edges { node { name company { name } } } } } } } } }
    """
    # when it is sent
    body = await graphql.execute(document, token=world.token("admin"))
    # then it is refused with its cost, and no data
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["requestedQueryCost"] > 1000
    assert "'first'" in error["message"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(_nested(11), "exceeds maximum operation depth of 10", id="depth-11"),
        pytest.param(
            "{ " + " ".join(f"a{i}: me {{ name }}" for i in range(31)) + " }",
            "aliases",
            id="31-aliases",
        ),
        pytest.param(
            "{ me { " + " ".join("name" for _ in range(5_001)) + " } }",
            "tokens",
            id="too-many-tokens",
        ),
    ],
)
async def test_documents_beyond_the_limits_are_refused(
    graphql: GraphQLClient, world: World, document: str, message: str
) -> None:
    body = await graphql.execute(document, token=world.token("admin"))
    assert body["data"] is None
    assert message in body["errors"][0]["message"]


async def test_documents_within_the_limits_run(graphql: GraphQLClient, world: World) -> None:
    # depth 10 exactly, 30 aliases exactly
    ten_deep = _nested(10)
    thirty_aliases = "{ " + " ".join(f"a{i}: me {{ name }}" for i in range(30)) + " }"
    for document in (ten_deep, thirty_aliases):
        body = await graphql.execute(document, token=world.token("admin"))
        assert "errors" not in body, body


async def test_graphiqls_introspection_query_passes_the_depth_limit(
    graphql: GraphQLClient, world: World
) -> None:
    body = await graphql.execute(get_introspection_query(), token=world.token("admin"))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_the_limits_are_settings(settings: Settings, world: World) -> None:
    async with client_on(replace(settings, max_query_cost=10)) as client:
        costly = await client.execute(USERS_WITH_COMPANIES, {"first": 20}, world.token("admin"))
    async with client_on(replace(settings, max_query_depth=1)) as client:
        deep = await client.execute("{ me { company { name } } }", token=world.token("admin"))
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert costly["errors"][0]["extensions"]["maximumAvailable"] == 10
    assert "exceeds maximum operation depth of 1" in deep["errors"][0]["message"]


async def test_field_suggestions_are_given_in_dev_only(settings: Settings, world: World) -> None:
    typo = "{ me { nmae } }"
    async with client_on(settings) as dev:
        suggested = await dev.execute(typo, token=world.token("admin"))
    production = replace(
        settings,
        environment=Environment.PROD,
        secret_key=secrets.token_urlsafe(32),
        load_demo_data=False,
    )
    async with client_on(production) as prod:
        plain = await prod.execute(typo, token=world.token("admin"))
    assert "Did you mean 'name'?" in suggested["errors"][0]["message"]
    assert "Did you mean" not in plain["errors"][0]["message"]
    assert "nmae" in plain["errors"][0]["message"]


async def test_batched_operations_are_refused(graphql: GraphQLClient, world: World) -> None:
    response = await graphql.http.post(
        "/graphql",
        json=[{"query": "{ me { name } }"}, {"query": "{ me { name } }"}],
        headers={"Authorization": f"Bearer {world.token('admin')}"},
    )
    assert response.status_code == 400


async def test_a_repeated_document_is_validated_once() -> None:
    # given the schema with its limits, and a document it has validated once
    schema = build_schema()
    cache = cached_validate
    document = "query Repeated { __typename }"
    first = await schema.execute(document)
    assert first.errors is None
    hits = cache.cache_info().hits

    # when the same document comes again
    again = await schema.execute(document)

    # then its validation comes from the cache: the limits' rules are the same objects
    # for every operation (a rule made anew per operation never matches the cache's key)
    assert again.errors is None
    assert cache.cache_info().hits == hits + 1
