"""The users connection: keyset pages in (name, id) order, page-size and cursor checks,
totalCount, and the search / company / active filters."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from models.tenancy import unscoped
from server.database import Database
from services import identity
from tests.conftest import GraphQLClient
from tests.world import World

USERS_PAGE = """
query UsersPage($first: Int!, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
  }
}
"""
USERS_FIRST_LITERAL = "query { users(first: %d) { totalCount } }"

# The nine north users of tests/world.py in (name, id) order.
NORTH_IN_ORDER = [
    "Acme Worker",
    "Admin",
    "Bolt Contact",
    "Bolt Worker",
    "Company Manager",
    "Credentials Manager",
    "Employee",
    "Inactive",
    "Users Manager",
]
# The largest key and cursor integer: PostgreSQL's integer is 32-bit.
MAX_INT32 = 2**31 - 1
# 0-9 to the fullwidth digits U+FF10-U+FF19: str.isdigit() accepts them, no key holds them.
FULLWIDTH_DIGITS = {ord("0") + digit: 0xFF10 + digit for digit in range(10)}
# Users whose names and emails tell a literal '%', '_' or '\' from a wildcard.
SEARCH_PEOPLE = [
    ("Percy 100% Safe", "percy@example.com"),
    ("Percy 1000 Safe", "percy1000@example.com"),
    ("Under_Score", "under@example.com"),
    ("UnderXScore", "underx@example.com"),
    ("Back\\Slash", "back@example.com"),
    ("Émile Zola", "emile@example.com"),
    ("Hans Groß", "hans@example.com"),
]
ALL_SEARCHABLE = [*NORTH_IN_ORDER, *(name for name, _ in SEARCH_PEOPLE)]
UNDERSCORE_EMAILS = [
    "Users Manager",
    "Credentials Manager",
    "Company Manager",
    "Acme Worker",
    "Bolt Contact",
    "Bolt Worker",
]


def _cursor(value: object) -> str:
    """A cursor as the API encodes one, around any JSON value."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _global_id(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def _add_users(
    database: Database, world: World, people: list[tuple[str, str]]
) -> dict[str, int]:
    """Create north users (name, email) the way the product does; their ids by email."""
    async with database.transaction(unscoped()) as session:
        created = [
            await identity.create_user(session, world.north_id, name, email)
            for name, email in people
        ]
    return {user.email: user.id for user in created}


async def _page(
    graphql: GraphQLClient,
    token: str,
    first: int,
    after: str | None = None,
    filter: dict[str, Any] | None = None,
) -> dict[str, Any]:
    variables = {"first": first, "after": after, "filter": filter}
    body = await graphql.execute(USERS_PAGE, variables, token)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["users"]
    return connection


def _names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def _walk(
    graphql: GraphQLClient, token: str, first: int, filter: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every page, following endCursor until hasNextPage is false."""
    pages = [await _page(graphql, token, first, filter=filter)]
    while pages[-1]["pageInfo"]["hasNextPage"]:
        assert len(pages) < 50, "the connection never ends"
        pages.append(await _page(graphql, token, first, pages[-1]["pageInfo"]["endCursor"], filter))
    return pages


async def test_pages_of_three_walk_every_user_in_name_order(
    graphql: GraphQLClient, world: World
) -> None:
    # given an admin, who sees all nine north users
    # when they walk the users three at a time
    pages = await _walk(graphql, world.token("admin"), 3)
    # then three full pages hold every user once, in (name, id) order
    assert [_names(page) for page in pages] == [
        NORTH_IN_ORDER[0:3],
        NORTH_IN_ORDER[3:6],
        NORTH_IN_ORDER[6:9],
    ]
    # and each page describes itself consistently
    for index, page in enumerate(pages):
        info, cursors = page["pageInfo"], [edge["cursor"] for edge in page["edges"]]
        assert page["totalCount"] == 9
        assert info["hasPreviousPage"] is (index > 0)
        assert info["hasNextPage"] is (index < len(pages) - 1)
        assert (info["startCursor"], info["endCursor"]) == (cursors[0], cursors[-1])
    ids = [edge["node"]["id"] for page in pages for edge in page["edges"]]
    assert len(ids) == len(set(ids)) == 9


async def test_users_with_the_same_name_are_ordered_by_id_across_pages(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # given four users with one name, sorting between "Credentials Manager" and "Employee"
    twins = await _add_users(
        database, world, [("Dana Same", f"dana{i}@example.com") for i in range(4)]
    )
    # when an admin walks the users two at a time, so that the twins straddle pages
    pages = await _walk(graphql, world.token("admin"), 2)
    # then every user comes once, the twins in id order, nothing lost at page edges
    nodes = [edge["node"] for page in pages for edge in page["edges"]]
    assert [n["name"] for n in nodes] == [
        *NORTH_IN_ORDER[:6],
        *["Dana Same"] * 4,
        *NORTH_IN_ORDER[6:],
    ]
    twin_ids = [n["id"] for n in nodes if n["name"] == "Dana Same"]
    assert twin_ids == [_global_id("User", key) for key in sorted(twins.values())]
    assert len({n["id"] for n in nodes}) == 13
    assert all(page["totalCount"] == 13 for page in pages)


async def test_users_inserted_between_pages_neither_repeat_nor_displace_others(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    token = world.token("admin")
    # given the first page of three: Acme Worker, Admin, Bolt Contact
    first_page = await _page(graphql, token, 3)
    assert _names(first_page) == NORTH_IN_ORDER[:3]
    # when users are created before and after the cursor, one with the cursor's own name
    await _add_users(
        database,
        world,
        [
            ("Aaron Early", "aaron@example.com"),  # before the cursor: already passed
            ("Bolt Apprentice", "apprentice@example.com"),  # before the cursor
            ("Bolt Contact", "second.contact@example.com"),  # same name, later id: after it
            ("Zoe Late", "zoe@example.com"),  # after the cursor
        ],
    )
    # and the walk continues from the first page's cursor
    pages = [first_page]
    while pages[-1]["pageInfo"]["hasNextPage"]:
        pages.append(await _page(graphql, token, 3, pages[-1]["pageInfo"]["endCursor"]))
    # then the later pages hold exactly what sorts after the cursor, new users included
    later = [name for page in pages[1:] for name in _names(page)]
    assert later == ["Bolt Contact", *NORTH_IN_ORDER[3:], "Zoe Late"]
    # and nothing is repeated: the new "Bolt Contact" is another user than the first one
    ids = [edge["node"]["id"] for page in pages for edge in page["edges"]]
    assert len(ids) == len(set(ids)) == 11
    assert pages[-1]["totalCount"] == 13


@pytest.mark.parametrize("first", [0, -1, 101, 10_000])
async def test_a_page_size_out_of_range_is_bad_user_input(
    graphql: GraphQLClient, world: World, first: int
) -> None:
    # when a page size outside 1..100 is asked for
    body = await graphql.execute(USERS_FIRST_LITERAL % first, token=world.token("admin"))
    # then the error is the client's, and names the argument
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'first'" in error["message"]
    assert error["path"] == ["users"]


@pytest.mark.parametrize(("first", "count"), [(1, 1), (100, 9)])
async def test_the_page_size_bounds_are_accepted(
    graphql: GraphQLClient, world: World, first: int, count: int
) -> None:
    # when the smallest and the largest page sizes are asked for
    page = await _page(graphql, world.token("admin"), first)
    # then they are served
    assert len(page["edges"]) == count
    assert page["totalCount"] == 9


@pytest.mark.parametrize(
    "after",
    [
        pytest.param("garbage!", id="not-base64"),
        pytest.param("", id="empty"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(base64.urlsafe_b64encode(b"not json").decode(), id="not-json"),
        pytest.param(_cursor({"name": "Admin", "id": 1}), id="object"),
        pytest.param(_cursor(["Admin"]), id="too-short"),
        pytest.param(_cursor(["Admin", 1, 2]), id="too-long"),
        pytest.param(_cursor([1, 2]), id="wrong-types"),
        pytest.param(_cursor(["Admin", True]), id="bool-for-int"),
        pytest.param(_cursor(["Admin", 1.5]), id="float-for-int"),
        pytest.param(_cursor(None), id="null"),
    ],
)
async def test_a_cursor_that_is_not_one_of_this_connection_is_bad_user_input(
    graphql: GraphQLClient, world: World, after: str
) -> None:
    # when a page is asked for after something that is not a users cursor
    body = await graphql.execute(
        USERS_PAGE, {"first": 3, "after": after}, token=world.token("admin")
    )
    # then the error is the client's, and names the argument
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'after'" in error["message"]


@pytest.mark.parametrize(
    "after",
    [
        pytest.param(_cursor(["Admin", 10**20]), id="beyond-int64"),
        pytest.param(_cursor(["Admin", 2**31]), id="beyond-int32"),
        pytest.param(_cursor(["Admin", -(2**31)]), id="below-int32"),
        pytest.param(_cursor(["Ad\u0000min", 1]), id="nul-in-name"),
        pytest.param(_cursor(["Ad\tmin", 1]), id="tab-in-name"),
        pytest.param(_cursor(["Ad\u007fmin", 1]), id="delete-in-name"),
    ],
)
async def test_a_cursor_with_out_of_range_values_is_bad_user_input(
    graphql: GraphQLClient, world: World, after: str
) -> None:
    # when a well-typed cursor carries values no row can have
    body = await graphql.execute(
        USERS_PAGE, {"first": 3, "after": after}, token=world.token("admin")
    )
    # then the error is the client's, and names the argument: never a server fault
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'after'" in error["message"]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        pytest.param(_cursor(["Admin", MAX_INT32]), NORTH_IN_ORDER[2:5], id="largest-id"),
        pytest.param(_cursor(["Admin", -MAX_INT32]), NORTH_IN_ORDER[1:4], id="smallest-id"),
    ],
)
async def test_a_cursor_at_the_integer_bounds_is_accepted(
    graphql: GraphQLClient, world: World, after: str, expected: list[str]
) -> None:
    # when a page is asked for after a cursor whose id is at the edge of the integer range
    page = await _page(graphql, world.token("admin"), 3, after)
    # then it is served: the users that sort after (name, id)
    assert _names(page) == expected


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("ADMIN", ["Admin"], id="name-any-case"),
        pytest.param("manager", ["Company Manager", "Credentials Manager", "Users Manager"]),
        pytest.param("Worker", ["Acme Worker", "Bolt Worker"], id="name-or-email"),
        pytest.param("bolt_worker@", ["Bolt Worker"], id="email-part"),
        pytest.param("EXAMPLE.COM", ALL_SEARCHABLE, id="every-email"),
        pytest.param("", ALL_SEARCHABLE, id="empty-is-no-filter"),
        pytest.param("100%", ["Percy 100% Safe"], id="percent-is-literal"),
        pytest.param("%", ["Percy 100% Safe"], id="lone-percent"),
        pytest.param("r_s", ["Under_Score"], id="underscore-is-literal"),
        pytest.param("_", [*UNDERSCORE_EMAILS, "Under_Score"], id="lone-underscore"),
        pytest.param("émile", ["Émile Zola"], id="non-ascii-lower"),
        pytest.param("ÉMILE", ["Émile Zola"], id="non-ascii-upper"),
        pytest.param("GROSS", ["Hans Groß"], id="sharp-s-casefolds-to-ss"),
        pytest.param("\\%", [], id="backslash-does-not-escape"),
        pytest.param("nobody at all", [], id="no-match"),
    ],
)
async def test_search_matches_part_of_the_name_or_email_in_any_case(
    graphql: GraphQLClient,
    world: World,
    database: Database,
    search: str,
    expected: list[str],
) -> None:
    # given users whose names hold the LIKE metacharacters and non-ASCII letters
    await _add_users(database, world, SEARCH_PEOPLE)
    # when an admin searches
    page = await _page(graphql, world.token("admin"), 100, filter={"search": search})
    # then exactly the users whose name or email holds the text, in any case, are found
    assert sorted(_names(page)) == sorted(expected)
    assert page["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("\\", ["Back\\Slash"], id="backslash-is-literal"),
        pytest.param("k\\S", ["Back\\Slash"], id="backslash-within-a-name"),
        pytest.param("Émile", ["Émile Zola"], id="exact-non-ascii-name"),
        pytest.param("Groß", ["Hans Groß"], id="exact-name-that-casefolds-differently"),
    ],
)
async def test_search_finds_names_exactly_as_spelled(
    graphql: GraphQLClient,
    world: World,
    database: Database,
    search: str,
    expected: list[str],
) -> None:
    # given users with a backslash and with non-ASCII letters in their names
    await _add_users(database, world, SEARCH_PEOPLE)
    # when an admin searches with the name's own spelling
    body = await graphql.execute(
        USERS_PAGE, {"first": 100, "filter": {"search": search}}, world.token("admin")
    )
    # then the user is found
    assert "errors" not in body, body["errors"]
    assert sorted(_names(body["data"]["users"])) == expected


@pytest.mark.parametrize(
    "search",
    [
        pytest.param("a\u0000b", id="nul-character"),
        pytest.param("\u0000", id="nul-alone"),
        pytest.param("Bolt\tWorker", id="tab"),
        pytest.param("Bolt\nWorker", id="newline"),
        pytest.param("Admin\u007f", id="delete"),
    ],
)
async def test_a_search_with_control_characters_is_bad_user_input(
    graphql: GraphQLClient, world: World, database: Database, search: str
) -> None:
    # given users with names of every kind
    await _add_users(database, world, SEARCH_PEOPLE)
    # when an admin searches with a control character, which no name or email holds
    body = await graphql.execute(
        USERS_PAGE, {"first": 100, "filter": {"search": search}}, world.token("admin")
    )
    # then the error is the client's, and names the argument: never a server fault,
    # nor a search that the database cut short at the character
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'search'" in error["message"]
    assert error["path"] == ["users"]


async def test_a_filtered_walk_pages_through_the_matches_only(
    graphql: GraphQLClient, world: World, database: Database
) -> None:
    # given users whose names hold underscores, and the world's underscored emails
    await _add_users(database, world, SEARCH_PEOPLE)
    # when an admin walks the matches of '_' two at a time
    pages = await _walk(graphql, world.token("admin"), 2, {"search": "_"})
    # then every match comes once, in name order, and each page counts all matches
    names = [name for page in pages for name in _names(page)]
    assert sorted(names) == sorted([*UNDERSCORE_EMAILS, "Under_Score"])
    assert len(names) == len(set(names)) == 7
    assert all(page["totalCount"] == 7 for page in pages)
    assert len(pages) == 4


@pytest.mark.parametrize(
    ("role", "companies", "expected"),
    [
        ("admin", ["acme"], ["Acme Worker", "Inactive"]),
        ("admin", ["acme", "bolt"], ["Acme Worker", "Bolt Contact", "Bolt Worker", "Inactive"]),
        ("admin", [], []),
        ("admin", ["south"], []),
        ("admin", ["nonexistent"], []),
        ("company_manager", ["acme"], ["Acme Worker", "Inactive"]),
        ("company_manager", ["bolt"], []),
        ("company_manager", ["acme", "bolt"], ["Acme Worker", "Inactive"]),
        ("bolt_contact", ["bolt"], ["Bolt Contact", "Bolt Worker"]),
        ("acme_worker", ["acme"], ["Acme Worker"]),
    ],
)
async def test_company_ids_filter_within_what_the_viewer_sees(
    graphql: GraphQLClient, world: World, role: str, companies: list[str], expected: list[str]
) -> None:
    # given global ids of own, other-organization and nonexistent companies
    keys = {
        "acme": world.acme_id,
        "bolt": world.bolt_id,
        "south": world.south_company_id,
        "nonexistent": 999_999,
    }
    company_ids = [_global_id("Company", keys[name]) for name in companies]
    # when a viewer filters users by them
    page = await _page(graphql, world.token(role), 100, filter={"companyIds": company_ids})
    # then only the companies' workers the viewer may see come back
    assert _names(page) == expected
    assert page["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("role", "is_active", "expected"),
    [
        ("admin", False, ["Inactive"]),
        ("admin", True, [name for name in NORTH_IN_ORDER if name != "Inactive"]),
        ("company_manager", False, ["Inactive"]),
        ("company_manager", True, ["Acme Worker", "Company Manager"]),
        ("bolt_contact", False, []),
    ],
)
async def test_is_active_filter(
    graphql: GraphQLClient, world: World, role: str, is_active: bool, expected: list[str]
) -> None:
    # when a viewer filters users by whether they are active
    page = await _page(graphql, world.token(role), 100, filter={"isActive": is_active})
    # then only the matching users they may see come back
    assert _names(page) == expected
    assert page["totalCount"] == len(expected)


async def test_filters_combine_and_total_count_ignores_the_page_size(
    graphql: GraphQLClient, world: World
) -> None:
    # given a filter on company, activity and text at once
    bolt = _global_id("Company", world.bolt_id)
    acme = _global_id("Company", world.acme_id)
    filter = {"companyIds": [acme, bolt], "isActive": True, "search": "o"}
    # when an admin asks for one match at a time
    page = await _page(graphql, world.token("admin"), 1, filter=filter)
    # then the total counts every match (Acme Worker, Bolt Contact, Bolt Worker), not the page
    assert _names(page) == ["Acme Worker"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    "company_id",
    [
        pytest.param("garbage", id="not-a-global-id"),
        pytest.param(_global_id("Company", 10**20), id="beyond-int64"),
        pytest.param(_global_id("Company", 2**31), id="beyond-int32"),
        pytest.param(_global_id("Company", 0), id="zero"),
        pytest.param(_global_id("Nope", 1), id="unknown-type"),
    ],
)
async def test_a_bad_company_id_in_the_filter_matches_no_user(
    graphql: GraphQLClient, world: World, company_id: str
) -> None:
    # when a viewer filters by a company id that cannot name a company
    page = await _page(graphql, world.token("admin"), 3, filter={"companyIds": [company_id]})
    # then no user matches, without an error: never a server fault
    assert page["edges"] == []
    assert page["totalCount"] == 0


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda key: f"000{key}", id="leading-zeros"),
        pytest.param(lambda key: f"+{key}", id="plus-sign"),
        pytest.param(lambda key: f"{key}.0", id="decimal-point"),
        pytest.param(lambda key: f"{key} ", id="trailing-space"),
        pytest.param(lambda key: str(key).translate(FULLWIDTH_DIGITS), id="fullwidth-digits"),
    ],
)
async def test_a_non_canonical_company_key_in_the_filter_matches_no_user(
    graphql: GraphQLClient, world: World, spell: Callable[[int], str]
) -> None:
    # given Acme's key spelled otherwise than the API writes it, next to Bolt's own id
    acme = _global_id("Company", spell(world.acme_id))
    bolt = _global_id("Company", world.bolt_id)
    # when an admin filters by both
    page = await _page(graphql, world.token("admin"), 100, filter={"companyIds": [acme, bolt]})
    # then only Bolt's workers match: the misspelled key names no company
    assert _names(page) == ["Bolt Contact", "Bolt Worker"]
    assert page["totalCount"] == 2
