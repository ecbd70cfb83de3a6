"""Every HTTP response says: no sniffing, no framing, no referrer, and a
Content-Security-Policy; the GraphiQL page's policy lets it load what it needs and talk to
this origin only; a media download keeps its own sandbox."""

from __future__ import annotations

import pytest

from server.security_headers import API_POLICY, GRAPHIQL_POLICY
from tests.conftest import GraphQLClient
from tests.world import World

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path", "authorized"),
    [
        ("POST", "/graphql", True),
        ("POST", "/graphql", False),
        ("GET", "/healthz", False),
        ("GET", "/metrics", False),
        ("GET", "/credentials/template.csv", True),
        ("GET", "/no-such-route", False),
    ],
)
async def test_api_responses_carry_the_security_headers(
    graphql: GraphQLClient, world: World, method: str, path: str, authorized: bool
) -> None:
    # Given any API route, with a token or without
    headers = {"Authorization": f"Bearer {world.token('admin')}"} if authorized else {}
    # When it answers
    response = await graphql.http.request(
        method,
        path,
        headers=headers,
        json={"query": "{ me { name } }"} if method == "POST" else None,
    )
    # Then the answer carries every header, with a policy that allows nothing
    assert {k: response.headers.get(k) for k in COMMON} == COMMON
    assert response.headers["content-security-policy"] == API_POLICY


async def test_the_graphiql_page_gets_a_policy_of_its_own(graphql: GraphQLClient) -> None:
    response = await graphql.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert {k: response.headers.get(k) for k in COMMON} == COMMON
    policy = response.headers["content-security-policy"]
    assert policy == GRAPHIQL_POLICY
    assert "frame-ancestors 'none'" in policy
    assert "connect-src 'self'" in policy
