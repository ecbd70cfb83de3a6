"""Compliance with a job role on a day: per person, for a role's members and for a
company's workers, today or on a future day, with what is missing, pending, rejected,
expired or expiring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from models import ApprovalStatus
from server.database import Database
from services.credentials import lifecycle
from services.credentials import types as type_service
from services.credentials.validation import VersionDetails
from tests.conftest import GraphQLClient
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import Seed, seeding
from tests.job_roles.helpers import assign, create_role
from tests.world import World

DAY = date(2026, 11, 28)
FA, PR, FL, WC = "First aid", "Paramedic", "Forklift", "White card"
A, P, R = ApprovalStatus.APPROVED, ApprovalStatus.PENDING, ApprovalStatus.REJECTED

REPORT = """
  onDate compliant expiring
  user { name }
  jobRole { name }
  requirements {
    status met
    metBy { type { name } }
    requirement { effectiveFrom }
    options { status type { name } credential { id } version { number } }
  }
"""
COMPLIANCE = f"""
query Compliance($user: ID!, $role: ID!, $on: Date) {{
  compliance(userId: $user, jobRoleId: $role, onDate: $on) {{ {REPORT} }}
}}
"""
# What a dashboard lists per person (the options of each requirement are one click away).
SHORT = "user { name } jobRole { name } compliant expiring requirements { status }"
ROLE_COMPLIANCE = f"""
query RoleCompliance($role: ID!, $on: Date) {{
  node(id: $role) {{
    ... on JobRole {{
      compliance(onDate: $on) {{
        onDate total compliant notCompliant expiring entries {{ {SHORT} }}
      }}
    }}
  }}
}}
"""
COMPANY_COMPLIANCE = f"""
query CompanyCompliance($company: ID!, $on: Date) {{
  node(id: $company) {{
    ... on Company {{
      compliance(onDate: $on) {{ total compliant notCompliant entries {{ {SHORT} }} }}
    }}
  }}
}}
"""


@dataclass(frozen=True)
class Held:
    type_name: str
    versions: tuple[tuple[str, str | None, ApprovalStatus], ...]  # issued, expires, status
    archived: bool = False


# What each person holds. The role asks for: first aid OR paramedic; a forklift licence;
# a white card from 2027-01-01.
HOLDINGS: dict[str, list[Held]] = {
    "acme_worker": [
        Held(FA, (("2025-01-01", "2027-06-30", A),)),
        Held(FL, (("2024-01-01", "2026-12-10", A),)),  # lapses 12 days after DAY
    ],
    "bolt_worker": [
        Held(PR, (("2026-11-01", "2029-11-01", P),)),
        Held(FL, (("2026-01-01", "2029-01-01", R),)),
        Held(WC, (("2020-01-01", None, A),)),
    ],
    "employee": [
        Held(FA, (("2025-01-01", "2028-01-01", A),), archived=True),  # archived: no
        Held(PR, (("2025-01-01", "2028-01-01", A),)),
        Held(FL, (("2027-02-01", "2030-02-01", A),)),  # issued after DAY
    ],
    "bolt_contact": [
        # lapsed; the renewal is pending: pending, not expired
        Held(FA, (("2023-01-01", "2026-10-01", A), ("2026-11-01", "2029-11-01", P))),
        Held(FL, (("2023-01-01", "2026-10-01", A),)),  # lapsed
        Held(WC, (("2020-01-01", None, A),)),
    ],
}


async def _seed(graphql: GraphQLClient, database: Database, world: World) -> str:
    """The role's global id; everyone in HOLDINGS holds it."""
    async with seeding(database, world) as seed:
        types = {name: await seed.credential_type(name) for name in (FA, PR, FL)}
        white = type_service.TypeChanges(name=WC, never_expires=True)
        types[WC] = (await type_service.create_type(seed.session, seed.viewer, white, seed.now)).id
        for holder, held in HOLDINGS.items():
            for item in held:
                await _hold(seed, world.user_ids[holder], types[item.type_name], item)
    role = await create_role(
        graphql,
        world.token("admin"),
        "Site supervisor",
        [
            {"typeIds": [global_id("CredentialType", types[FA]),
                         global_id("CredentialType", types[PR])]},
            {"typeIds": [global_id("CredentialType", types[FL])]},
            {"typeIds": [global_id("CredentialType", types[WC])], "effectiveFrom": "2027-01-01"},
        ],
    )  # fmt: skip
    people = [global_id("User", world.user_ids[h]) for h in HOLDINGS]
    assert (await assign(graphql, world.token("admin"), role["id"], people))["errors"] == []
    return str(role["id"])


async def _hold(seed: Seed, holder_id: int, type_id: int, held: Held) -> None:
    credential_id = None
    for issued, expires, status in held.versions:
        details = VersionDetails(
            date.fromisoformat(issued), date.fromisoformat(expires) if expires else None, "N-1"
        )
        if credential_id is None:
            credential = await lifecycle.create_credential(
                seed.session, seed.viewer, type_id, holder_id, details, seed.now
            )
            credential_id = credential.id
        else:
            await lifecycle.add_version(seed.session, seed.viewer, credential_id, details, seed.now)
        if status is A:
            await lifecycle.approve(seed.session, seed.viewer, credential_id, seed.now)
        elif status is R:
            await lifecycle.reject(seed.session, seed.viewer, credential_id, "Blurred.", seed.now)
    if held.archived:
        assert credential_id is not None
        await seed.archive(credential_id)


def _summary(report: dict[str, Any]) -> tuple[bool, bool, list[tuple[str, list[str]]]]:
    """(compliant, expiring, [(requirement status, ["Type: OPTION", ...] best first)])."""
    return (
        report["compliant"],
        report["expiring"],
        [
            (r["status"], [f"{o['type']['name']}: {o['status']}" for o in r["options"]])
            for r in report["requirements"]
        ],
    )


# (person, day) -> (compliant, expiring, per requirement: status and its options)
CASES: list[tuple[str, str, tuple[bool, bool, list[tuple[str, list[str]]]]]] = [
    ("acme_worker", "2026-11-28", (True, True, [
        ("MET", ["First aid: MET", "Paramedic: MISSING"]),
        ("EXPIRING", ["Forklift: EXPIRING"]),
        ("NOT_YET_EFFECTIVE", ["White card: MISSING"]),
    ])),
    ("acme_worker", "2027-01-15", (False, False, [
        ("MET", ["First aid: MET", "Paramedic: MISSING"]),
        ("NOT_MET", ["Forklift: EXPIRED"]),
        ("NOT_MET", ["White card: MISSING"]),
    ])),
    ("bolt_worker", "2026-11-28", (False, False, [
        ("NOT_MET", ["Paramedic: PENDING", "First aid: MISSING"]),
        ("NOT_MET", ["Forklift: REJECTED"]),
        ("NOT_YET_EFFECTIVE", ["White card: MET"]),
    ])),
    ("employee", "2026-11-28", (False, False, [
        ("MET", ["Paramedic: MET", "First aid: MISSING"]),
        ("NOT_MET", ["Forklift: NOT_YET_VALID"]),
        ("NOT_YET_EFFECTIVE", ["White card: MISSING"]),
    ])),
    ("employee", "2027-03-01", (False, False, [
        ("MET", ["Paramedic: MET", "First aid: MISSING"]),
        ("MET", ["Forklift: MET"]),
        ("NOT_MET", ["White card: MISSING"]),
    ])),
    ("bolt_contact", "2026-11-28", (False, False, [
        ("NOT_MET", ["First aid: PENDING", "Paramedic: MISSING"]),
        ("NOT_MET", ["Forklift: EXPIRED"]),
        ("NOT_YET_EFFECTIVE", ["White card: MET"]),
    ])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("person", "day", "expected"), [pytest.param(*c, id=f"{c[0]} on {c[1]}") for c in CASES]
)
async def test_compliance_of_a_person_on_a_day(
    person: str,
    day: str,
    expected: tuple[bool, bool, list[tuple[str, list[str]]]],
    graphql: GraphQLClient,
    database: Database,
    world: World,
) -> None:
    # given the role and what each person holds
    role = await _seed(graphql, database, world)

    # when an admin asks whether the person meets it on the day
    body = await graphql.execute(
        COMPLIANCE,
        {"user": global_id("User", world.user_ids[person]), "role": role, "on": day},
        token=world.token("admin"),
    )

    # then each requirement says where the person stands, best option first
    assert "errors" not in body, body
    report = body["data"]["compliance"]
    assert report["onDate"] == day
    assert _summary(report) == expected
    # and metBy is the credential of the best option when that one meets it
    for requirement in report["requirements"]:
        best = requirement["options"][0]
        meets = best["status"] in ("MET", "EXPIRING")
        assert requirement["metBy"] == ({"type": best["type"]} if meets else None)


async def test_a_role_lists_its_members_compliance_with_counts(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the role held by four people
    role = await _seed(graphql, database, world)

    # when an admin reads the role's compliance on DAY
    body = await graphql.execute(
        ROLE_COMPLIANCE, {"role": role, "on": DAY.isoformat()}, token=world.token("admin")
    )

    # then every member is listed by name, with the counts
    assert "errors" not in body, body
    report = body["data"]["node"]["compliance"]
    assert [e["user"]["name"] for e in report["entries"]] == [
        "Acme Worker", "Bolt Contact", "Bolt Worker", "Employee"
    ]  # fmt: skip
    assert (report["total"], report["compliant"], report["notCompliant"]) == (4, 1, 3)
    assert report["expiring"] == 1
    by_name = {
        e["user"]["name"]: (e["compliant"], e["expiring"], [r["status"] for r in e["requirements"]])
        for e in report["entries"]
    }
    expected = {
        person.replace("_", " ").title(): (ok, soon, [status for status, _ in groups])
        for person, day, (ok, soon, groups) in CASES
        if day == DAY.isoformat()
    }
    assert by_name == expected


@pytest.mark.parametrize(
    ("viewer", "members"),
    [
        ("company_manager", ["Acme Worker"]),
        ("bolt_contact", ["Bolt Contact", "Bolt Worker"]),
        ("employee", ["Employee"]),
        ("users_manager", ["Acme Worker", "Bolt Contact", "Bolt Worker", "Employee"]),
    ],
)
async def test_a_role_shows_only_the_members_the_viewer_may_see(
    viewer: str, members: list[str], graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the role held by four people of different companies
    role = await _seed(graphql, database, world)

    # when the viewer reads its compliance
    body = await graphql.execute(
        ROLE_COMPLIANCE, {"role": role, "on": DAY.isoformat()}, token=world.token(viewer)
    )

    # then only the members they may see are listed and counted
    report = body["data"]["node"]["compliance"]
    assert [e["user"]["name"] for e in report["entries"]] == members
    assert report["total"] == len(members)


async def test_compliance_of_someone_the_viewer_may_not_see_is_null(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the role
    role = await _seed(graphql, database, world)

    # when a company manager of Acme asks about a Bolt worker, and about an unknown role
    token = world.token("company_manager")
    bolt = await graphql.execute(
        COMPLIANCE, {"user": global_id("User", world.user_ids["bolt_worker"]), "role": role},
        token=token,
    )  # fmt: skip
    unknown = await graphql.execute(
        COMPLIANCE,
        {"user": global_id("User", world.user_ids["acme_worker"]),
         "role": global_id("JobRole", 10_000)},
        token=token,
    )  # fmt: skip

    # then both answer null, as for what does not exist
    assert bolt == {"data": {"compliance": None}}
    assert unknown == {"data": {"compliance": None}}


async def test_a_company_lists_its_workers_compliance(
    graphql: GraphQLClient, database: Database, world: World
) -> None:
    # given the role held by two Bolt people and others
    await _seed(graphql, database, world)

    # when Bolt's key contact reads Bolt's compliance on DAY
    body = await graphql.execute(
        COMPANY_COMPLIANCE,
        {"company": global_id("Company", world.bolt_id), "on": DAY.isoformat()},
        token=world.token("bolt_contact"),
    )

    # then Bolt's two workers are listed, neither compliant
    report = body["data"]["node"]["compliance"]
    assert [e["user"]["name"] for e in report["entries"]] == ["Bolt Contact", "Bolt Worker"]
    assert (report["total"], report["compliant"], report["notCompliant"]) == (2, 0, 2)
