"""The contractor portal's view: companies with their workers, the workers' credentials
and their compliance, exactly as far as each viewer may see."""

from __future__ import annotations

from typing import Any

import pytest

from server.database import Database
from services.job_roles import members, roles
from tests.conftest import GraphQLClient
from tests.credentials.dashboard_setup import DAY, FORKLIFT, seed_dashboard
from tests.credentials.matrix_setup import OTHER_COMPANY_MANAGER, add_other_company_manager, seeding
from tests.world import World

CONTRACTORS = """
query Contractors($on: Date) {
  companies {
    name
    workers(first: 3) {
      edges {
        node {
          name
          credentials { type { name } expiryStatus(onDate: $on) latestVersion { credentialNumber } }
        }
      }
    }
    compliance(onDate: $on) {
      total compliant notCompliant
      entries { user { name } jobRole { name } compliant }
    }
  }
}
"""

# Workers of each company and their live credentials (type, expiry status on DAY, number).
ACME = {
    "Acme Worker": [
        ("Forklift licence", "EXPIRING_SOON", "FL-200"),
        ("First aid certificate", "VALID", "FA-100"),
    ],
    "Inactive": [],
}
BOLT = {
    "Bolt Contact": [("White card", "NO_EXPIRY", "WC-500")],
    "Bolt Worker": [
        ("Forklift licence", "VALID", "FL-400"),
        ("First aid certificate", "EXPIRED", "FA-300"),
    ],
}
# Compliance with "Forklift crew" (a forklift licence), held by every company worker on DAY.
ACME_COMPLIANCE = [("Acme Worker", True), ("Inactive", False)]
BOLT_COMPLIANCE = [("Bolt Contact", False), ("Bolt Worker", False)]  # pending is not met

# viewer -> (company name -> workers, whether credential numbers show, compliance)
VIEWS: dict[str, dict[str, tuple[dict[str, Any], bool, list[tuple[str, bool]]]]] = {
    "company_manager": {"Acme Scaffolding": (ACME, True, ACME_COMPLIANCE)},
    "bolt_contact": {"Bolt Electrical": (BOLT, False, BOLT_COMPLIANCE)},
    OTHER_COMPANY_MANAGER: {"Bolt Electrical": (BOLT, True, BOLT_COMPLIANCE)},
    "admin": {
        "Acme Scaffolding": (ACME, True, ACME_COMPLIANCE),
        "Bolt Electrical": (BOLT, True, BOLT_COMPLIANCE),
    },
}


@pytest.mark.parametrize("viewer", list(VIEWS))
async def test_each_contractor_viewer_sees_exactly_their_companies(
    viewer: str, graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the dashboard's credentials, a manager of Bolt, and a role every company
    # worker holds
    dashboard = await seed_dashboard(database, world)
    await add_other_company_manager(database, world)
    async with seeding(database, world) as seed:
        changes = roles.RoleChanges(
            name="Forklift crew",
            requirements=[roles.RequirementSpec([dashboard.types[FORKLIFT]])],
        )
        role = await roles.create_role(seed.session, seed.viewer, changes, seed.now)
        crew = [
            world.user_ids[r] for r in ("acme_worker", "inactive", "bolt_worker", "bolt_contact")
        ]
        await members.assign(seed.session, seed.viewer, role.id, crew, seed.now)

    # when the viewer opens the contractors view on DAY
    body = await graphql.execute(CONTRACTORS, {"on": DAY.isoformat()}, token=world.token(viewer))

    # then exactly their companies, each worker's credentials and compliance
    assert "errors" not in body, body
    companies = body["data"]["companies"]
    expected = VIEWS[viewer]
    assert [c["name"] for c in companies] == list(expected)
    for company in companies:
        workers, numbers_show, compliance = expected[company["name"]]
        seen = {
            edge["node"]["name"]: [
                (
                    c["type"]["name"],
                    c["expiryStatus"],
                    c["latestVersion"]["credentialNumber"],
                )
                for c in edge["node"]["credentials"]
            ]
            for edge in company["workers"]["edges"]
        }
        own = "Bolt Contact" if viewer == "bolt_contact" else None  # their own details
        assert seen == {
            name: [(t, s, n if numbers_show or name == own else None) for t, s, n in credentials]
            for name, credentials in workers.items()
        }
        report = company["compliance"]
        assert [(e["user"]["name"], e["compliant"]) for e in report["entries"]] == compliance
        assert {e["jobRole"]["name"] for e in report["entries"]} == {"Forklift crew"}
        assert report["total"] == len(compliance)
        assert report["compliant"] == sum(ok for _, ok in compliance)
