"""No N+1: a page of credentials with every nested field costs the same number of SQL
statements for 10 rows as for 100. Statements are counted at the engine, through real
HTTP requests to the app."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from models import ApprovalStatus
from server.app import create_app
from server.database import Database
from server.settings import Settings
from services import identity
from services.credentials import lifecycle
from services.credentials.validation import VersionDetails
from services.job_roles import members, roles
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import reviewer_viewer, seeding
from tests.world import World

PAGE = """
query Page($first: Int!) {
  credentials(first: $first, orderBy: {field: EXPIRY_DATE}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id archived revision
        holder { id name email company { id name } }
        type { id name neverExpires }
        latestVersion {
          id number issueDate expiryDate approvalStatus credentialNumber mediaCount
        }
        effectiveVersion { id number expiryDate }
        expiryStatus
        isValid
      }
    }
  }
}
"""
# What the dashboard benchmark reads: expiry status without the versions themselves.
DASHBOARD_PAGE = """
query Page($first: Int!) {
  credentials(first: $first) {
    edges {
      node {
        id
        holder { id name }
        type { id name }
        latestVersion { id number issueDate expiryDate approvalStatus mediaCount }
        expiryStatus
      }
    }
  }
}
"""
OVERVIEW = """
query Overview {
  credentialOverview {
    counts { total valid expired }
    byType { type { id name } counts { total } }
    byCompany { company { id name } counts { total } }
  }
}
"""
WARM_UP = "{ me { id } }"
HOLDERS = 10
TYPES = 10


@dataclass
class Counter:
    """Counts statements, and keeps their first lines to say which one repeats."""

    statements: int = 0
    seen: list[str] = field(default_factory=list)

    def __call__(self, _connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements += 1
        self.seen.append(" ".join(statement.split())[:120])

    def most_repeated(self) -> list[tuple[str, int]]:
        return collections.Counter(self.seen).most_common(3)


@asynccontextmanager
async def counted_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Counter]]:
    """An in-process client of an app whose engine counts the statements it runs."""
    app = create_app(settings)
    counter = Counter()
    event.listen(app.state.database.engine.sync_engine, "before_cursor_execute", counter)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, counter
    finally:
        await app.state.database.dispose()


async def _seed_hundred(database: Database, world: World) -> tuple[list[int], list[int]]:
    """100 credentials: 10 holders in two companies, 10 types; half renewed once.
    Returns the holders' and the types' keys."""
    async with seeding(database, world) as seed:
        holders = []
        for index in range(HOLDERS):
            company = world.acme_id if index % 2 else world.bolt_id
            user = await identity.create_user(
                seed.session,
                world.north_id,
                f"Worker {index:02}",
                f"worker{index}@example.com",
                company_id=company,
            )
            holders.append(user.id)
        types = [await seed.credential_type(f"Type {index:02}") for index in range(TYPES)]
        reviewer = reviewer_viewer(world)
        for h, holder in enumerate(holders):
            for t, type_id in enumerate(types):
                details = VersionDetails(date(2025, 1, 1), date(2027, 1, 1 + t), f"N-{h}-{t}")
                credential = await lifecycle.create_credential(
                    seed.session, seed.viewer, type_id, holder, details, seed.now
                )
                await lifecycle.approve(seed.session, reviewer, credential.id, seed.now)
                if (h + t) % 2:
                    renewal = VersionDetails(date(2026, 6, 1), date(2029, 6, 1), f"R-{h}-{t}")
                    await lifecycle.add_version(
                        seed.session, seed.viewer, credential.id, renewal, seed.now
                    )
    return holders, types


async def _statements(
    http: httpx.AsyncClient, counter: Counter, token: str, query: str, variables: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    before = counter.statements
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return counter.statements - before, body["data"]


@pytest.mark.parametrize(
    ("query", "most"),
    [
        pytest.param(PAGE, 16, id="every nested field"),
        pytest.param(DASHBOARD_PAGE, 12, id="the dashboard's fields"),
    ],
)
async def test_a_page_of_100_costs_the_statements_of_a_page_of_10(
    query: str, most: int, settings: Settings, database: Database, world: World
) -> None:
    # given 100 credentials of 10 holders in two companies and 10 types, half renewed
    await _seed_hundred(database, world)
    token = world.token("admin")

    async with counted_client(settings) as (http, counter):
        await _statements(http, counter, token, WARM_UP, {})  # the token's last use is recorded

        # when a page of 10 and a page of 100 are read with every nested field
        ten, small = await _statements(http, counter, token, query, {"first": 10})
        hundred, large = await _statements(http, counter, token, query, {"first": 100})

    # then both pages are served in the same few statements
    assert len(small["credentials"]["edges"]) == 10
    assert len(large["credentials"]["edges"]) == 100
    assert ten == hundred, counter.most_repeated()
    # auth, page, count, settings, companies, versions, media counts (on SQLite, each
    # with its BEGIN)
    assert hundred <= most, counter.most_repeated()


async def test_the_overview_costs_the_same_statements_for_any_number_of_credentials(
    settings: Settings, database: Database, world: World
) -> None:
    # given one credential of a company's worker first
    async with seeding(database, world) as seed:
        type_id = await seed.credential_type("Lone type")
        await seed.credential("acme_worker", type_id, status=ApprovalStatus.APPROVED)
    token = world.token("admin")
    async with counted_client(settings) as (http, counter):
        await _statements(http, counter, token, WARM_UP, {})
        # when the overview is read with one credential, then with 101
        one, _ = await _statements(http, counter, token, OVERVIEW, {})
        await _seed_hundred(database, world)
        many, data = await _statements(http, counter, token, OVERVIEW, {})

    # then it is counted in SQL: the same statements, whatever the number of rows
    assert data["credentialOverview"]["counts"]["total"] == 101
    assert len(data["credentialOverview"]["byType"]) == TYPES + 1
    assert one == many


ROLE_COMPLIANCE = """
query RoleCompliance($role: ID!) {
  node(id: $role) {
    ... on JobRole {
      compliance { total compliant entries { user { name } compliant requirements { status } } }
    }
  }
}
"""


async def test_a_roles_compliance_costs_the_same_statements_for_1_or_10_members(
    settings: Settings, database: Database, world: World
) -> None:
    # given a role requiring each of 10 types, held by one of the 10 holders
    holders, types = await _seed_hundred(database, world)
    async with seeding(database, world) as seed:
        changes = roles.RoleChanges(
            name="Crew", requirements=[roles.RequirementSpec([t]) for t in types]
        )
        role = await roles.create_role(seed.session, seed.viewer, changes, seed.now)
        await members.assign(seed.session, seed.viewer, role.id, holders[:1], seed.now)
    variables = {"role": global_id("JobRole", role.id)}
    token = world.token("admin")

    async with counted_client(settings) as (http, counter):
        await _statements(http, counter, token, WARM_UP, {})
        # when its compliance is read with one member, then with all ten
        one, _ = await _statements(http, counter, token, ROLE_COMPLIANCE, variables)
        async with seeding(database, world) as seed:
            await members.assign(seed.session, seed.viewer, role.id, holders, seed.now)
        ten, data = await _statements(http, counter, token, ROLE_COMPLIANCE, variables)

    # then it is judged set-based: the same statements for ten as for one
    report = data["node"]["compliance"]
    assert report["total"] == 10
    assert all(len(e["requirements"]) == 10 for e in report["entries"])
    assert one == ten, counter.most_repeated()


CONTRACTORS = """
query Contractors {
  companies {
    name
    workers(first: 5) {
      totalCount
      edges { node { name credentials { type { name } expiryStatus } } }
    }
  }
}
"""


async def test_the_contractors_view_costs_the_same_statements_for_2_or_12_companies(
    settings: Settings, database: Database, world: World
) -> None:
    # given the world's two companies, with 100 credentials among their workers
    await _seed_hundred(database, world)
    token = world.token("admin")
    async with counted_client(settings) as (http, counter):
        await _statements(http, counter, token, WARM_UP, {})
        # when the contractors view is read, then again after ten more companies with
        # two workers each are added
        two, _ = await _statements(http, counter, token, CONTRACTORS, {})
        async with seeding(database, world) as seed:
            for index in range(10):
                company = await identity.create_company(
                    seed.session, world.north_id, f"Extra {index:02}"
                )
                for worker in range(2):
                    await identity.create_user(
                        seed.session,
                        world.north_id,
                        f"Extra {index:02} worker {worker}",
                        f"extra{index}-{worker}@example.com",
                        company_id=company.id,
                    )
        twelve, data = await _statements(http, counter, token, CONTRACTORS, {})

    # then every company's first workers and count come from the same statements
    assert len(data["companies"]) == 12
    assert all(c["workers"]["totalCount"] >= 2 for c in data["companies"])
    assert two == twelve, counter.most_repeated()
