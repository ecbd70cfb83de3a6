"""A search, a filter or an order never answers about what the viewer cannot read: an
email that reads as null for a viewer cannot be recovered by searching for it, one
character at a time, through the list or its count."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import GraphQLClient
from tests.credentials.factories import create_credential, create_type
from tests.world import World

SEARCH_USERS = """
query Search($search: String!) {
  users(first: 100, filter: { search: $search }) { totalCount edges { node { name email } } }
}
"""

SEARCH_CREDENTIALS = """
query SearchCredentials($search: String!) {
  credentials(first: 100, filter: { search: $search }) { totalCount }
  credentialOverview(filter: { search: $search }) { byCompany { counts { total } } }
}
"""


async def _found(graphql: GraphQLClient, token: str, search: str) -> tuple[list[str], int]:
    body = await graphql.execute(SEARCH_USERS, {"search": search}, token)
    assert "errors" not in body, body
    users = body["data"]["users"]
    return sorted(e["node"]["name"] for e in users["edges"]), users["totalCount"]


@pytest.mark.parametrize(
    ("viewer", "themselves"),
    [
        ("credentials_manager", "Credentials Manager"),
        ("company_manager", "Company Manager"),
        ("bolt_contact", "Bolt Contact"),
        ("acme_worker", "Acme Worker"),
    ],
)
async def test_a_search_matches_only_the_emails_the_viewer_reads(
    graphql: GraphQLClient, world: World, viewer: str, themselves: str
) -> None:
    # given a viewer who sees other people but reads their emails as null, and a part of
    # every email that is in no name
    # when they search for it
    names, total = await _found(graphql, world.token(viewer), "@example.com")
    # then only their own email matches, in the list and in its count
    assert (names, total) == ([themselves], 1)


async def test_an_email_cannot_be_recovered_character_by_character(
    graphql: GraphQLClient, world: World
) -> None:
    # given a company manager, who sees the Acme worker but reads their email as null
    token = world.token("company_manager")
    visible, _ = await _found(graphql, token, "Acme Worker")
    assert visible == ["Acme Worker"]
    # when they search for growing prefixes of that email
    for prefix in ("acme_", "acme_w", "acme_worker@", "acme_worker@example.com"):
        # then none of them finds the worker: the answer says nothing of the email
        assert await _found(graphql, token, prefix) == ([], 0), prefix


async def test_those_who_read_emails_find_people_by_them(
    graphql: GraphQLClient, world: World
) -> None:
    names, total = await _found(graphql, world.token("users_manager"), "acme_worker@")
    assert (names, total) == (["Acme Worker"], 1)


async def test_a_credential_search_matches_no_email_the_viewer_cannot_read(
    graphql: GraphQLClient, world: World
) -> None:
    # given a credential of the Acme worker, and a credentials manager, who sees every
    # credential but reads no one's email
    admin = world.token("admin")
    type_id = await create_type(graphql, admin)
    await create_credential(graphql, admin, type_id, world.user_ids["acme_worker"])
    token = world.token("credentials_manager")
    # when they search the credentials and the overview by the holder's name, then by
    # a part of the holder's email
    by_name = await graphql.execute(SEARCH_CREDENTIALS, {"search": "acme worker"}, token)
    by_email = await graphql.execute(SEARCH_CREDENTIALS, {"search": "acme_worker@"}, token)
    # then the name finds it and the email does not (not even through the counts)
    assert _counts(by_name) == (1, 1)
    assert _counts(by_email) == (0, 0)


def _counts(body: dict[str, Any]) -> tuple[int, int]:
    assert "errors" not in body, body
    counted = body["data"]["credentialOverview"]["byCompany"]
    overview = sum(c["counts"]["total"] for c in counted)
    return body["data"]["credentials"]["totalCount"], overview
