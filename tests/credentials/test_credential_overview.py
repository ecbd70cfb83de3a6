"""credentialOverview: the dashboard's counts, in total, per type and per company; stated
by hand for one case, and checked against the list for the same filters and viewers."""

from __future__ import annotations

from typing import Any

import pytest

from models import ApprovalStatus
from server.database import Database
from tests.conftest import GraphQLClient
from tests.credentials.dashboard_setup import DAY, FIRST_AID, FORKLIFT, WHITE_CARD, seed_dashboard
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import seeding
from tests.world import World

COUNTS = "total pendingApproval valid expiringSoon expired noExpiry archived"
OVERVIEW = f"""
query Overview($filter: CredentialFilterInput) {{
  credentialOverview(filter: $filter) {{
    onDate
    counts {{ {COUNTS} }}
    byType {{ type {{ name }} counts {{ {COUNTS} }} }}
    byCompany {{ company {{ id name }} counts {{ {COUNTS} }} }}
  }}
}}
"""
COUNT = """
query Count($filter: CredentialFilterInput) { credentials(filter: $filter) { totalCount } }
"""
KEYS = COUNTS.split()


def _counts(*values: int) -> dict[str, int]:
    return dict(zip(KEYS, values, strict=True))


async def test_the_overview_counts_the_dashboard(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard's credentials, and one in another organization
    await seed_dashboard(database, world)
    async with seeding(database, world, "south") as seed:
        type_id = await seed.credential_type()
        await seed.credential("south_worker", type_id, status=ApprovalStatus.APPROVED)

    # when the admin asks for the overview on DAY
    body = await graphql.execute(
        OVERVIEW, {"filter": {"onDate": DAY.isoformat()}}, token=world.token("admin")
    )

    # then the counts are those of the seeded states, in total, per type and per company
    assert "errors" not in body, body
    overview = body["data"]["credentialOverview"]
    assert overview["onDate"] == DAY.isoformat()
    #                                  total pend valid soon expired none archived
    assert overview["counts"] == _counts(7, 2, 3, 1, 2, 1, 1)
    assert [(t["type"]["name"], t["counts"]) for t in overview["byType"]] == [
        (FIRST_AID, _counts(2, 0, 1, 0, 1, 0, 1)),
        (FORKLIFT, _counts(4, 2, 2, 1, 1, 0, 0)),
        (WHITE_CARD, _counts(1, 0, 0, 0, 0, 1, 0)),
    ]
    assert [
        (c["company"]["name"] if c["company"] else None, c["counts"]) for c in overview["byCompany"]
    ] == [
        ("Acme Scaffolding", _counts(2, 0, 1, 1, 0, 0, 0)),
        ("Bolt Electrical", _counts(3, 1, 1, 0, 1, 1, 0)),
        (None, _counts(2, 1, 1, 0, 1, 0, 1)),
    ]


FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("no filter", {}),
    ("archived included", {"archived": "INCLUDE"}),
    ("archived only", {"archived": "ONLY"}),
    ("a company", {"companyIds": ["bolt"]}),
    ("a search", {"search": "bolt"}),
    ("a later day", {"onDate": "2027-06-15"}),
    ("pending on a later day", {"onDate": "2027-06-15", "approvalStatuses": ["PENDING"]}),
]
VIEWERS = ["admin", "company_manager", "bolt_contact", "employee"]
STATUS_OF = {
    "valid": "VALID",
    "expiringSoon": "EXPIRING_SOON",
    "expired": "EXPIRED",
    "noExpiry": "NO_EXPIRY",
}


def _ids(given: dict[str, Any], world: World) -> dict[str, Any]:
    companies = {"acme": world.acme_id, "bolt": world.bolt_id}
    converted = dict(given)
    if "companyIds" in given:
        converted["companyIds"] = [global_id("Company", companies[c]) for c in given["companyIds"]]
    converted.setdefault("onDate", DAY.isoformat())
    return converted


async def _listed(graphql: GraphQLClient, token: str, base: dict[str, Any], **more: Any) -> int:
    body = await graphql.execute(COUNT, {"filter": {**base, **more}}, token=token)
    assert "errors" not in body, body
    return int(body["data"]["credentials"]["totalCount"])


async def _expected(graphql: GraphQLClient, token: str, base: dict[str, Any]) -> dict[str, int]:
    """What the list says for the same filter, one count at a time."""
    rest = {k: v for k, v in base.items() if k != "archived"}
    expected = {
        "total": await _listed(graphql, token, base),
        "pendingApproval": await _listed(
            graphql, token, base, approvalStatuses=[
                s for s in base.get("approvalStatuses", ["PENDING"]) if s == "PENDING"
            ]
        ),
        "archived": await _listed(graphql, token, rest, archived="ONLY"),
    }  # fmt: skip
    for key, status in STATUS_OF.items():
        expected[key] = await _listed(graphql, token, base, expiryStatuses=[status])
    return expected


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize(("given"), [pytest.param(f[1], id=f[0]) for f in FILTERS])
async def test_the_overview_agrees_with_the_list(
    viewer: str, given: dict[str, Any], graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard's credentials
    dashboard = await seed_dashboard(database, world)
    token = world.token(viewer)
    base = _ids(given, world)

    # when the viewer asks for the overview with a filter
    body = await graphql.execute(OVERVIEW, {"filter": base}, token=token)
    assert "errors" not in body, body
    overview = body["data"]["credentialOverview"]

    # then each count is what the list counts for the filter plus that status, in total,
    # per type and per company (people of no company are what is left)
    assert overview["counts"] == await _expected(graphql, token, base)
    by_type = {t["type"]["name"]: t["counts"] for t in overview["byType"]}
    for name, key in dashboard.types.items():
        type_filter = {**base, "typeIds": [global_id("CredentialType", key)]}
        expected = await _expected(graphql, token, type_filter)
        assert by_type.get(name, _counts(0, 0, 0, 0, 0, 0, 0)) == expected, name
    by_company = {
        c["company"]["id"] if c["company"] else None: c["counts"] for c in overview["byCompany"]
    }
    for company_key in (world.acme_id, world.bolt_id):
        company_id = global_id("Company", company_key)
        expected = await _expected(graphql, token, {**base, "companyIds": [company_id]})
        if company_id not in base.get("companyIds", [company_id]):
            expected = _counts(0, 0, 0, 0, 0, 0, 0)  # the filter leaves the company out
        assert by_company.get(company_id, _counts(0, 0, 0, 0, 0, 0, 0)) == expected
    summed = {key: sum(counts[key] for counts in by_company.values()) for key in KEYS}
    assert summed == overview["counts"]
