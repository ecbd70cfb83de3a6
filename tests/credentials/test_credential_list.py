"""The credentials connection as a dashboard uses it: every filter, every order in both
directions, keyset pages forwards and backwards that stay correct while credentials are
added and archived between requests, and the refusals of impossible pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from models import ApprovalStatus
from server.database import Database
from server.settings import Settings
from services.credentials import lifecycle
from services.credentials.validation import VersionDetails
from tests.clock import TestClock
from tests.conftest import GraphQLClient, client_on
from tests.credentials.dashboard_setup import (
    DAY,
    FIRST_AID,
    FORKLIFT,
    LIVE,
    PLANNED,
    Dashboard,
    seed_dashboard,
)
from tests.credentials.factories import global_id, local_key
from tests.credentials.matrix_setup import seeding
from tests.world import World

LIST = """
query List(
  $filter: CredentialFilterInput, $orderBy: CredentialOrder,
  $first: Int, $after: String, $last: Int, $before: String, $on: Date
) {
  credentials(
    filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id expiryStatus(onDate: $on) } }
  }
}
"""
COSTED = """
query Costed($first: Int, $last: Int) {
  credentials(first: $first, last: $last) { edges { node { holder { id } } } }
}
"""

ORDERS = [
    (field, direction)
    for field in ("CREATED", "EXPIRY_DATE", "ISSUE_DATE", "HOLDER_NAME", "TYPE_NAME", "UPDATED_AT")
    for direction in ("ASC", "DESC")
]


async def _list(
    graphql: GraphQLClient, token: str, **variables: Any
) -> tuple[list[str], dict[str, Any]]:
    """(labels-to-be: credential keys as strings, the connection)."""
    variables.setdefault("on", DAY.isoformat())
    body = await graphql.execute(LIST, variables, token=token)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["credentials"]
    return [e["node"]["id"] for e in connection["edges"]], connection


def _labels(dashboard: Dashboard, ids: list[str]) -> list[str]:
    return [dashboard.labels[local_key(i)] for i in ids]


def _newest_first(labels: set[str]) -> list[str]:
    return [label for label in reversed(PLANNED) if label in labels]


# (case, viewer, filter with names for ids, expected labels (listed newest first))
FILTER_CASES: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("company Acme", "admin", {"companyIds": ["acme"]}, {
        "acme first aid valid", "acme forklift expiring"}),
    ("company Bolt", "admin", {"companyIds": ["bolt"]}, {
        "bolt first aid expired", "bolt forklift pending", "contact white card"}),
    ("type and company", "admin", {"companyIds": ["bolt"], "typeIds": [FORKLIFT]}, {
        "bolt forklift pending"}),
    ("a filter never widens the view", "company_manager", {"companyIds": ["bolt"]}, set()),
    ("approval pending: of the latest version", "admin", {"approvalStatuses": ["PENDING"]}, {
        "bolt forklift pending", "admin forklift renewal pending"}),
    ("approval rejected", "admin", {"approvalStatuses": ["REJECTED"]}, {
        "employee forklift rejected"}),
    ("approval approved or rejected", "admin", {"approvalStatuses": ["APPROVED", "REJECTED"]}, {
        "acme first aid valid", "acme forklift expiring", "bolt first aid expired",
        "contact white card", "employee forklift rejected"}),
    ("expired: a pending renewal does not count", "admin", {"expiryStatuses": ["EXPIRED"]}, {
        "bolt first aid expired", "admin forklift renewal pending"}),
    ("expired, archived too", "admin", {"expiryStatuses": ["EXPIRED"], "archived": "INCLUDE"}, {
        "bolt first aid expired", "admin forklift renewal pending",
        "employee first aid archived"}),
    ("expiring soon", "admin", {"expiryStatuses": ["EXPIRING_SOON"]}, {
        "acme forklift expiring"}),
    ("no expiry", "admin", {"expiryStatuses": ["NO_EXPIRY"]}, {"contact white card"}),
    ("valid", "admin", {"expiryStatuses": ["VALID"]}, {
        "acme first aid valid", "bolt forklift pending", "employee forklift rejected"}),
    ("valid on a later day", "admin",
     {"expiryStatuses": ["VALID"], "onDate": "2027-06-15"}, {
        "bolt forklift pending", "employee forklift rejected"}),
    ("expiring soon on a later day", "admin",
     {"expiryStatuses": ["EXPIRING_SOON"], "onDate": "2027-06-15"}, {"acme first aid valid"}),
    ("expires in a range", "admin", {"expiresFrom": "2026-12-01", "expiresTo": "2027-12-31"}, {
        "acme first aid valid", "acme forklift expiring"}),
    ("expires by a day: the latest version's date", "admin", {"expiresTo": "2026-11-30"}, {
        "bolt first aid expired"}),
    ("a range never matches no expiry", "admin", {"expiresFrom": "2000-01-01"},
     set(LIVE) - {"contact white card"}),
    ("search a holder's name, any case", "admin", {"search": "bOLT"}, {
        "bolt first aid expired", "bolt forklift pending", "contact white card"}),
    ("search a credential number", "admin", {"search": "fl-6"}, {"employee forklift rejected"}),
    ("search an earlier version's number", "admin", {"search": "FL-800"}, {
        "admin forklift renewal pending"}),
    ("search an email: user managers read emails", "admin", {"search": "employee@"}, {
        "employee forklift rejected"}),
    ("search an email nobody may read here", "credentials_manager", {"search": "employee@"},
     set()),
    ("search a number the viewer may not read", "bolt_contact", {"search": "FA-3"}, set()),
    ("search one's own number", "bolt_worker", {"search": "FA-3"}, {"bolt first aid expired"}),
    ("search '%' is literal", "admin", {"search": "%"}, set()),
    ("an empty search matches all", "admin", {"search": ""}, set(LIVE)),
]  # fmt: skip


def _with_ids(given: dict[str, Any], world: World, dashboard: Dashboard) -> dict[str, Any]:
    converted = dict(given)
    companies = {"acme": world.acme_id, "bolt": world.bolt_id}
    if "companyIds" in given:
        converted["companyIds"] = [global_id("Company", companies[c]) for c in given["companyIds"]]
    if "typeIds" in given:
        converted["typeIds"] = [
            global_id("CredentialType", dashboard.types[t]) for t in given["typeIds"]
        ]
    return converted


@pytest.mark.parametrize(
    ("viewer", "given", "expected"), [pytest.param(*c[1:], id=c[0]) for c in FILTER_CASES]
)
async def test_the_list_filters(
    viewer: str,
    given: dict[str, Any],
    expected: set[str],
    graphql: GraphQLClient,
    database: Database,
    world: World,
) -> None:
    # given credentials in every approval and expiry state, one of them archived
    dashboard = await seed_dashboard(database, world)
    on = given.get("onDate", DAY.isoformat())

    # when the viewer lists them with the filter
    ids, connection = await _list(
        graphql, world.token(viewer), filter=_with_ids(given, world, dashboard), on=on
    )

    # then exactly the expected ones, newest first, counted alike
    assert _labels(dashboard, ids) == _newest_first(expected)
    assert connection["totalCount"] == len(expected)
    # and an expiry-status filter agrees with each credential's expiryStatus on that day
    for edge in connection["edges"]:
        if "expiryStatuses" in given:
            assert edge["node"]["expiryStatus"] in given["expiryStatuses"]


async def test_expiry_status_is_judged_today_by_default(
    settings: Settings, database: Database, world: World
) -> None:
    # given the dashboard's credentials, and today is DAY + 200 days
    dashboard = await seed_dashboard(database, world)
    clock = TestClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.set_day(DAY + timedelta(days=200))

    # when the list is filtered by expiring soon without a date
    async with client_on(settings, clock) as graphql:
        body = await graphql.execute(
            LIST, {"filter": {"expiryStatuses": ["EXPIRING_SOON"]}}, token=world.token("admin")
        )

    # then "today" is the clock's day: only the first aid certificate expiring 2027-06-30
    ids = [e["node"]["id"] for e in body["data"]["credentials"]["edges"]]
    assert _labels(dashboard, ids) == ["acme first aid valid"]


# What each order sorts by, stated from the plan: the latest version's dates (no expiry
# last, no issue date first), holder and type names in any case, creation.
def _sort_key(field: str) -> Callable[[tuple[int, str]], Any]:
    def key(entry: tuple[int, str]) -> Any:
        created, label = entry
        planned = PLANNED[label]
        latest = planned.versions[-1]
        value: Any = {
            "CREATED": 0,
            "UPDATED_AT": 0,  # seeded in one instant: creation breaks the tie
            "EXPIRY_DATE": latest.expires or date.max,
            "ISSUE_DATE": latest.issued,
            "HOLDER_NAME": planned.holder.replace("_", " ").casefold(),
            "TYPE_NAME": planned.type_name.casefold(),
        }[field]
        return (value, created)

    return key


def _expected_order(field: str, direction: str) -> list[str]:
    entries = sorted(enumerate(LIVE), key=_sort_key(field), reverse=direction == "DESC")
    return [label for _, label in entries]


@pytest.mark.parametrize(("field", "direction"), ORDERS)
async def test_each_order_pages_forwards_and_backwards_alike(
    field: str, direction: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard's seven live credentials
    dashboard = await seed_dashboard(database, world)
    token = world.token("admin")
    order = {"field": field, "direction": direction}
    expected = _expected_order(field, direction)

    # when they are read in one page, in pages of 2 forwards, and in pages of 2 backwards
    whole, _ = await _list(graphql, token, orderBy=order, first=100)
    forwards: list[str] = []
    flags_forwards = []
    after = None
    while True:
        ids, connection = await _list(graphql, token, orderBy=order, first=2, after=after)
        forwards += ids
        info = connection["pageInfo"]
        flags_forwards.append((info["hasPreviousPage"], info["hasNextPage"]))
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    backwards: list[str] = []
    flags_backwards = []
    before = None
    while True:
        ids, connection = await _list(graphql, token, orderBy=order, last=2, before=before)
        backwards = ids + backwards
        info = connection["pageInfo"]
        flags_backwards.append((info["hasPreviousPage"], info["hasNextPage"]))
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]

    # then all three read the same sequence, ties broken by creation in the same direction
    assert _labels(dashboard, whole) == expected
    assert forwards == whole
    assert backwards == whole
    assert flags_forwards == [(False, True), (True, True), (True, True), (True, False)]
    assert flags_backwards == [(True, False), (True, True), (True, True), (False, True)]


async def test_updated_at_order_follows_the_last_change(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard, then a renewal of the expired first aid certificate a day later
    dashboard = await seed_dashboard(database, world)
    renewed = dashboard.key("bolt first aid expired")
    async with seeding(database, world) as seed:
        details = VersionDetails(date(2026, 11, 25), date(2029, 11, 25), "FA-301")
        later = seed.now + timedelta(days=1)
        await lifecycle.add_version(seed.session, seed.viewer, renewed, details, later)

    # when the list is ordered by last update, latest first
    ids, _ = await _list(
        graphql, world.token("admin"), orderBy={"field": "UPDATED_AT", "direction": "DESC"}
    )

    # then the renewed credential leads; the rest follow, newest first
    assert _labels(dashboard, ids)[0] == "bolt first aid expired"
    assert _labels(dashboard, ids)[1:] == [
        label for label in reversed(LIVE) if label != "bolt first aid expired"
    ]


async def test_pages_neither_repeat_nor_skip_while_credentials_are_added_and_archived(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard's credentials ordered by expiry date, soonest first
    dashboard = await seed_dashboard(database, world)
    token = world.token("admin")
    order = {"field": "EXPIRY_DATE", "direction": "ASC"}
    before_changes = _expected_order("EXPIRY_DATE", "ASC")

    # when the first page of 3 is read, then one credential already read and one not yet
    # read are archived, and two are added: one sorting before the cursor, one after it
    first_ids, first = await _list(graphql, token, orderBy=order, first=3)
    read_label, unread_label = before_changes[0], before_changes[4]
    async with seeding(database, world) as seed:
        await seed.archive(dashboard.key(read_label))
        await seed.archive(dashboard.key(unread_label))
        early = VersionDetails(date(2025, 1, 1), date(2026, 1, 1), "EARLY")
        late = VersionDetails(date(2025, 1, 1), date(2028, 6, 1), "LATE")
        early_key = (
            await lifecycle.create_credential(
                seed.session, seed.viewer, dashboard.types[FIRST_AID],
                world.user_ids["bolt_contact"], early, seed.now,
            )
        ).id  # fmt: skip
        late_key = (
            await lifecycle.create_credential(
                seed.session, seed.viewer, dashboard.types[FORKLIFT],
                world.user_ids["bolt_contact"], late, seed.now,
            )
        ).id  # fmt: skip
    dashboard.labels[early_key], dashboard.labels[late_key] = "added early", "added late"
    rest: list[str] = []
    after = first["pageInfo"]["endCursor"]
    while after is not None:
        ids, connection = await _list(graphql, token, orderBy=order, first=3, after=after)
        rest += ids
        after = (
            connection["pageInfo"]["endCursor"] if connection["pageInfo"]["hasNextPage"] else None
        )

    # then each row that stayed is read once, in order; the archived unread one is gone,
    # the one added before the cursor is not read and the one added after it is
    read = _labels(dashboard, first_ids + rest)
    expected = [label for label in before_changes if label != unread_label]
    expected.insert(expected.index("employee forklift rejected") + 1, "added late")
    assert read == expected
    assert "added early" not in read


BAD_PAGES: list[tuple[str, dict[str, Any], str]] = [
    ("first over 100", {"first": 101}, "'first' must be between 1 and 100, got 101"),
    ("last over 100", {"last": 101}, "'last' must be between 1 and 100, got 101"),
    ("last 0", {"last": 0}, "'last' must be between 1 and 100"),
    ("first and last", {"first": 2, "last": 2}, "pass 'first' or 'last', not both"),
    ("after with last", {"last": 2, "after": "WzFd"}, "'after' goes with 'first'"),
    ("before with first", {"first": 2, "before": "WzFd"}, "'before' goes with 'last'"),
    ("a malformed before cursor", {"last": 2, "before": "nope"}, "'before' cursor"),
    (
        "a cursor of another order",
        {"orderBy": {"field": "HOLDER_NAME"}, "after": "WyJUWVBFX05BTUUiLCJ4IiwxXQ=="},
        "belongs to the order by TYPE_NAME, not by HOLDER_NAME",
    ),
    (
        "a creation cursor for another order",
        {"orderBy": {"field": "EXPIRY_DATE"}, "after": "WzFd"},
        "'after' cursor",
    ),
    (
        "a date cursor that is no date",
        {"orderBy": {"field": "EXPIRY_DATE"}, "after": "WyJFWFBJUllfREFURSIsIngiLDFd"},
        "'after' cursor",
    ),
    (
        "an upside-down expiry range",
        {"filter": {"expiresFrom": "2027-01-02", "expiresTo": "2027-01-01"}},
        "'expiresFrom' (2027-01-02) is after 'expiresTo' (2027-01-01)",
    ),
    ("control characters in search", {"filter": {"search": "a\u0000b"}}, "'search'"),
    ("a search too long", {"filter": {"search": "x" * 201}}, "'search' takes at most 200"),
]


@pytest.mark.parametrize(
    ("variables", "message"), [pytest.param(*c[1:], id=c[0]) for c in BAD_PAGES]
)
async def test_impossible_requests_are_refused_clearly(
    variables: dict[str, Any], message: str, graphql: GraphQLClient, world: World
) -> None:
    # when a viewer asks for an impossible page
    body = await graphql.execute(LIST, variables, token=world.token("admin"))

    # then BAD_USER_INPUT with a message that says what is wrong
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


async def test_default_page_is_20(graphql: GraphQLClient, database: Database, world: World) -> None:
    # given 25 credentials
    async with seeding(database, world) as seed:
        for index in range(25):
            type_id = await seed.credential_type(f"Type {index:02}")
            await seed.credential("employee", type_id, status=ApprovalStatus.APPROVED)

    # when the list is asked for without a page size
    ids, connection = await _list(graphql, world.token("admin"))

    # then it has 20, and says there are more
    assert len(ids) == 20
    assert connection["totalCount"] == 25
    assert connection["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("variables", "cost"),
    [
        pytest.param({}, 1 + 20 * 3, id="the default page of 20"),
        pytest.param({"first": 100}, 1 + 100 * 3, id="first"),
        pytest.param({"last": 100}, 1 + 100 * 3, id="last costs as first"),
    ],
)
async def test_a_page_costs_by_its_size_whichever_way_it_is_read(
    variables: dict[str, Any], cost: int, graphql: GraphQLClient, world: World
) -> None:
    # when a page is asked for by first, by last or by neither
    await graphql.execute(COSTED, variables, token=world.token("admin"))

    # then its cost counts the page's size times its objects (edge, node, holder)
    assert graphql.last_extensions is not None
    assert graphql.last_extensions["cost"]["requestedQueryCost"] == cost


EDGE_OF_TIME = """
query Edge($on: Date!) {
  credentials(filter: {expiryStatuses: [VALID], onDate: $on}) { totalCount }
  credentialOverview(filter: {onDate: $on}) { onDate counts { total noExpiry } }
}
"""


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-20", "0001-01-01"])
async def test_the_first_and_last_days_of_the_calendar_are_answered(
    day: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard's credentials
    await seed_dashboard(database, world)

    # when the list and the overview are asked about a day at the calendar's edge
    body = await graphql.execute(EDGE_OF_TIME, {"on": day}, token=world.token("admin"))

    # then both answer: the expiring-soon window stops at the calendar's end
    assert "errors" not in body, body
    assert body["data"]["credentialOverview"]["onDate"] == day
    assert body["data"]["credentialOverview"]["counts"]["total"] == len(LIVE)
