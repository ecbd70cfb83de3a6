"""How fast hostile documents are refused: a 1,000-alias and a 100-deep query, next to
the baseline of a small query answered in the same run (the issue asks < 50 ms a refusal).

Run from the project root: PYTHONPATH=. .venv/bin/python bench/query_limits.py
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import replace

import httpx

from models.tenancy import unscoped
from server.app import create_app
from server.database import Database
from server.migrations import upgrade_to_head
from server.settings import Settings
from services import identity

ROUNDS = 50
ALIASES = "{ " + " ".join(f"a{i}: me {{ name }}" for i in range(1000)) + " }"
DEEP = "{ me { " + "company { workers { edges { node { " * 25 + "name" + " } } } }" * 25 + " } }"
SMALL = "{ me { name } }"


async def _token(url: str) -> str:
    database = Database(url)
    await upgrade_to_head(database)
    async with database.transaction(unscoped()) as session:
        organization = await identity.create_organization(session, "Bench")
        user = await identity.create_user(session, organization.id, "Bench", "b@example.com")
        _, token = await identity.issue_token(session, user, "bench")
    await database.dispose()
    return token


async def _timed(client: httpx.AsyncClient, document: str, token: str) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = await client.post("/graphql", json={"query": document}, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return samples


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/bench.db"
        token = await _token(url)
        app = create_app(replace(Settings(), database_url=url, load_demo_data=False))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            baseline = await _timed(client, SMALL, token)
            for name, document in (("1,000 aliases", ALIASES), ("100 deep", DEEP)):
                refused = await _timed(client, document, token)
                p50, base = statistics.median(refused), statistics.median(baseline)
                print(
                    f"{name:>14}: refused in p50 {p50:6.2f} ms, max {max(refused):6.2f} ms"
                    f"  | baseline small query p50 {base:5.2f} ms  | ratio {p50 / base:4.1f}x"
                )
        await app.state.database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
