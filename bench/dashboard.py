"""The dashboard benchmark, in one run on a SQLite database of 100,000 credentials:

1. a page of 50 credentials (holder, type, latest version, media count, expiry status)
   through HTTP on uvicorn, requests/s and p50 / p99 latency, next to the no-GraphQL ceiling
   (bench/dashboard_ceiling.py: Starlette + one SQLAlchemy Core statement, same JSON);
2. `credentialOverview` and the compliance of a 500-member job role, p50 / p99.

Run from the project root: PYTHONPATH=. .venv/bin/python bench/dashboard.py [--page-only]
(--page-only leaves out the overview and the compliance report.)
Each server is its own process on this machine; the load comes from this process, on
one server at a time, in turns.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, select

from models import (
    ApprovalStatus,
    Base,
    Company,
    Credential,
    CredentialMedia,
    CredentialType,
    CredentialVersion,
    FieldRule,
    JobRole,
    JobRoleMember,
    JobRoleRequirement,
    JobRoleRequirementType,
    Permission,
    User,
)
from models.tenancy import unscoped
from server.database import Database
from server.migrations import upgrade_to_head
from services import identity

USERS = 5_000
TYPES = 20  # every user holds one credential of each type: 100,000 credentials
COMPANIES = 50
ROLE_MEMBERS = 500
CONCURRENCY = 8
SECONDS = 10.0  # of load on each server, in WINDOWS turns
WINDOWS = 5
ROUNDS = 30

PAGE = """
query Page {
  credentials(first: 50) {
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
    counts { total pendingApproval valid expiringSoon expired noExpiry archived }
    byType { type { name } counts { total valid expiringSoon expired } }
    byCompany { company { name } counts { total valid expiringSoon expired } }
  }
}
"""
ROLE_COMPLIANCE = """
query Crew($role: ID!) {
  node(id: $role) {
    ... on JobRole {
      compliance { total compliant notCompliant entries { user { name } compliant } }
    }
  }
}
"""


def _seed_rows(path: Path, organization_id: int) -> int:
    """Companies, users, types, credentials and versions in bulk; returns the role's key."""
    now = datetime.now(UTC)
    today = now.date()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:

        def bulk(model: type[Base], rows: list[dict[str, Any]]) -> None:
            connection.execute(insert(model.__table__), rows)  # type: ignore[arg-type]

        bulk(
            Company,
            [
                {"organization_id": organization_id, "name": f"Contractor {i:02}",
                 "name_key": f"contractor {i:02}", "created_at": now}
                for i in range(COMPANIES)
            ],
        )  # fmt: skip
        company_ids = list(connection.scalars(select(Company.id).order_by(Company.id)))
        bulk(
            User,
            [
                {"organization_id": organization_id, "name": f"Worker {i:05}",
                 "name_key": f"worker {i:05}", "email": f"w{i}@example.com",
                 "email_key": f"w{i}@example.com", "is_active": True,
                 "company_id": company_ids[i % COMPANIES], "created_at": now}
                for i in range(USERS)
            ],
        )  # fmt: skip
        user_ids = list(
            connection.scalars(
                select(User.id).where(User.name_key.like("worker %")).order_by(User.id)
            )
        )
        bulk(
            CredentialType,
            [
                {"organization_id": organization_id, "name": f"Licence {i:02}",
                 "name_key": f"licence {i:02}", "description": "",
                 "issue_date_rule": FieldRule.REQUIRED, "expiry_date_rule": FieldRule.REQUIRED,
                 "media_rule": FieldRule.OPTIONAL, "never_expires": False,
                 "created_at": now, "updated_at": now}
                for i in range(TYPES)
            ],
        )  # fmt: skip
        type_ids = list(connection.scalars(select(CredentialType.id).order_by(CredentialType.id)))
        credentials = []
        versions = []
        media: list[dict[str, Any]] = []

        def add_version(row: dict[str, Any]) -> None:
            # A file on every third version, a second on every ninth: counts of 0, 1 and 2.
            row["id"] = len(versions) + 1
            versions.append(row)
            files = (row["id"] % 3 == 0) + (row["id"] % 9 == 0)
            media.extend(
                {"organization_id": organization_id, "credential_id": row["credential_id"],
                 "version_id": row["id"], "content_key": f"bench-{row['id']}-{f}",
                 "filename": f"scan-{f}.pdf", "content_type": "application/pdf",
                 "size": 1024, "created_at": now}
                for f in range(files)
            )  # fmt: skip

        for u, user_id in enumerate(user_ids):
            for t, type_id in enumerate(type_ids):
                n = u * TYPES + t
                renewed = n % 10 == 0
                credentials.append(
                    {"id": n + 1, "organization_id": organization_id, "type_id": type_id,
                     "holder_id": user_id, "latest_version_number": 2 if renewed else 1,
                     "revision": 1, "created_at": now, "updated_at": now}
                )  # fmt: skip
                expires = today + timedelta(days=(n * 7) % 1500 - 200)
                add_version(
                    {"organization_id": organization_id, "credential_id": n + 1, "number": 1,
                     "issue_date": expires - timedelta(days=1095), "expiry_date": expires,
                     "credential_number": f"N-{n}", "approval_status": ApprovalStatus.APPROVED,
                     "created_at": now, "updated_at": now}
                )  # fmt: skip
                if renewed:
                    add_version(
                        {"organization_id": organization_id, "credential_id": n + 1,
                         "number": 2, "issue_date": today,
                         "expiry_date": today + timedelta(days=1095),
                         "credential_number": f"R-{n}", "approval_status": ApprovalStatus.PENDING,
                         "created_at": now, "updated_at": now}
                    )  # fmt: skip
        bulk(Credential, credentials)
        bulk(CredentialVersion, versions)
        bulk(CredentialMedia, media)
        bulk(
            JobRole,
            [{"organization_id": organization_id, "name": "Crew", "name_key": "crew",
              "description": "", "created_at": now, "updated_at": now}],
        )  # fmt: skip
        role_id = int(connection.scalar(select(JobRole.id)) or 0)
        bulk(
            JobRoleRequirement,
            [{"organization_id": organization_id, "job_role_id": role_id, "position": p}
             for p in range(3)],
        )  # fmt: skip
        requirement_ids = list(connection.scalars(select(JobRoleRequirement.id)))
        bulk(
            JobRoleRequirementType,
            [{"organization_id": organization_id, "requirement_id": r, "type_id": type_ids[i + k]}
             for i, r in enumerate(requirement_ids) for k in range(2)],
        )  # fmt: skip
        bulk(
            JobRoleMember,
            [{"organization_id": organization_id, "job_role_id": role_id, "user_id": u,
              "assigned_at": now} for u in user_ids[:ROLE_MEMBERS]],
        )  # fmt: skip
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return role_id


async def _prepare(path: Path) -> tuple[str, int, int]:
    """(admin token, organization key, role key)."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade_to_head(database)
    async with database.transaction(unscoped()) as session:
        organization = await identity.create_organization(session, "Bench")
        permissions = [p.value for p in Permission]
        admins = await identity.create_permission_set(
            session, organization.id, "Admins", permissions
        )
        admin = await identity.create_user(
            session, organization.id, "Admin", "admin@example.com", permission_set_id=admins.id
        )
        _, token = await identity.issue_token(session, admin, "bench")
    await database.dispose()
    return token, organization.id, _seed_rows(path, organization.id)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(
                    f"{base}/healthz" if "server" in command else f"{base}/page?today=2000-01-01",
                    timeout=1,
                )
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _load(request: Any, seconds: float) -> tuple[float, list[float]]:
    """Requests/s and latencies (ms) of CONCURRENCY clients sending for `seconds`."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await request()
            assert response.status_code == 200, response.text
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return len(latencies) / (time.perf_counter() - started), latencies


def _p(latencies: list[float], q: float) -> float:
    return (
        statistics.quantiles(latencies, n=100)[int(q) - 1] if len(latencies) > 1 else latencies[0]
    )


async def _measure_in_turns(
    targets: list[tuple[str, str, Any]],
) -> list[tuple[float, float, float]]:
    """(requests/s, p50, p99) of each (label, base URL, request) target, loaded in turns:
    WINDOWS windows of SECONDS / WINDOWS each, so that what else the shared machine does
    falls on every target alike rather than on whichever ran first."""
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for _, base, _ in targets]
    served = [0] * len(targets)
    spent = [0.0] * len(targets)
    latencies: list[list[float]] = [[] for _ in targets]
    try:
        for (_, _, request), http in zip(targets, clients, strict=True):
            await _load(partial(request, http), 2.0)  # warm up
        for _ in range(WINDOWS):
            for index, ((_, _, request), http) in enumerate(zip(targets, clients, strict=True)):
                started = time.perf_counter()
                _, window = await _load(partial(request, http), SECONDS / WINDOWS)
                spent[index] += time.perf_counter() - started
                served[index] += len(window)
                latencies[index].extend(window)
    finally:
        for http in clients:
            await http.aclose()
    results = []
    for index, (label, _, _) in enumerate(targets):
        rate = served[index] / spent[index]
        p50, p99 = _p(latencies[index], 50), _p(latencies[index], 99)
        print(f"{label:>28}: {rate:7.1f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms", flush=True)
        results.append((rate, p50, p99))
    return results


async def _timed(base: str, token: str, query: str, variables: dict[str, Any], label: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as http:
        for round_ in range(ROUNDS + 3):
            started = time.perf_counter()
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            elapsed = (time.perf_counter() - started) * 1000
            body = response.json()
            assert "errors" not in body, body
            if round_ >= 3:  # the first ones warm caches
                samples.append(elapsed)
    print(
        f"{label:>28}: p50 {_p(samples, 50):6.1f} ms   p99 {_p(samples, 99):6.1f} ms "
        f"(target < 100 ms)",
        flush=True,
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        started = time.perf_counter()
        token, organization_id, role_id = await _prepare(path)
        print(f"seeded {USERS * TYPES:,} credentials in {time.perf_counter() - started:.1f} s")
        today = datetime.now(UTC).date()
        headers = {"Authorization": f"Bearer {token}"}
        python = sys.executable

        port = _free_port()
        graphql_env = {
            "DATABASE_URL": f"sqlite:///{path}",
            "LOAD_DEMO_DATA": "false",
            "RATE_LIMIT_CAPACITY": "0",
            "PYTHONPATH": ".",
        }
        graphql_command = [python, "-m", "server", "serve", "--port", str(port)]
        ceiling_port = _free_port()
        ceiling_env = {"DATABASE_URL": f"sqlite+aiosqlite:///{path}", "PYTHONPATH": "."}
        ceiling_command = [python, "-m", "uvicorn", "bench.dashboard_ceiling:app",
                           "--port", str(ceiling_port), "--log-level", "warning"]  # fmt: skip
        with (
            _server(graphql_command, graphql_env, port) as base,
            _server(ceiling_command, ceiling_env, ceiling_port) as ceiling_base,
        ):
            query = f"/page?org={organization_id}&today={today.isoformat()}"
            async with httpx.AsyncClient(base_url=base, headers=headers) as http:
                graphql_page = (await http.post("/graphql", json={"query": PAGE})).json()["data"]
            async with httpx.AsyncClient(base_url=ceiling_base) as http:
                ceiling_page = (await http.get(query)).json()["data"]
            assert ceiling_page == graphql_page, "the ceiling must return the same JSON"
            graphql, ceiling = await _measure_in_turns(
                [
                    (
                        "GraphQL page of 50",
                        base,
                        lambda http: http.post("/graphql", json={"query": PAGE}, headers=headers),
                    ),
                    ("Starlette + Core ceiling", ceiling_base, lambda http: http.get(query)),
                ]
            )
            print(
                f"{'ratio':>28}: {graphql[0] / ceiling[0]:.2f}x the ceiling's requests/s "
                "(target 0.5x)",
                flush=True,
            )
            if "--page-only" not in sys.argv:
                await _timed(base, token, OVERVIEW, {}, "credentialOverview")
                role = {"role": _global_id("JobRole", role_id)}
                await _timed(base, token, ROLE_COMPLIANCE, role, "500-member role compliance")


def _global_id(type_name: str, key: int) -> str:
    from strawberry.relay import to_base64

    return to_base64(type_name, key)


if __name__ == "__main__":
    asyncio.run(main())
