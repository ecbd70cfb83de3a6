"""Fan-out of one credential event to many WebSocket subscribers.

Scenarios, each with N subscribers (default 1,000) on real uvicorn processes:
  one instance  — subscribers and the approving mutation on the same process (memory://)
  two instances — subscribers on B, the mutation on A, signalled through Redis
and, as the baseline measured in the same run, a bare Starlette WebSocket endpoint that
sends one fixed message to the same number of sockets (bench/raw_fanout.py).

For each round: the time from sending the approving mutation until each subscriber has
the event (p50, p99) and until every subscriber has it (max).

Run from the project root (Redis for the second scenario, default redis://127.0.0.1:6379/0):
    PYTHONPATH=. .venv/bin/python bench/subscribers.py [--subscribers 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from server.settings import DEFAULT_SECRET_KEY
from services.demo import USERS, demo_token

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = Subprotocol("graphql-transport-ws")
TOKENS = {user.name: demo_token(DEFAULT_SECRET_KEY, user) for user in USERS}
ADMIN, REVIEWER, HOLDER = TOKENS["Ada Admin"], TOKENS["Casey Clerk"], TOKENS["Sam Shaw"]

SUBSCRIPTION = """
subscription Approved($after: String) {
  credentialEvents(kinds: [APPROVED], after: $after) {
    cursor kind occurredAt holder { name } credential { id latestVersion { number } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str]) -> Iterator[int]:
    """`python *command PORT` on a free port, until it answers /healthz; its port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, *command, str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


SERVE = ["-m", "server", "serve", "--port"]
RAW = ["bench/raw_fanout.py"]


async def _graphql(port: int, query: str, variables: dict[str, object], token: str) -> dict:
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict = response.json()
    assert "errors" not in body, body
    return body["data"]


class Credential:
    """Sam's credential, renewed and approved once a round (one APPROVED event each)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.id = ""

    async def create(self) -> None:
        made = await _graphql(
            self.port,
            "mutation($i: CreateCredentialTypeInput!) { createCredentialType(input: $i) "
            "{ credentialType { id } } }",
            {"i": {"name": f"Bench licence {time.time_ns()}", "neverExpires": True}},
            ADMIN,
        )
        me = await _graphql(self.port, "{ me { id } }", {}, HOLDER)
        created = await _graphql(
            self.port,
            "mutation($i: CreateCredentialInput!) { createCredential(input: $i) "
            "{ credential { id } errors { message } } }",
            {
                "i": {
                    "typeId": made["createCredentialType"]["credentialType"]["id"],
                    "holderId": me["me"]["id"],
                    "issueDate": "2026-01-01",
                }
            },
            HOLDER,
        )
        self.id = created["createCredential"]["credential"]["id"]

    async def renew(self) -> None:
        await _graphql(
            self.port,
            "mutation($i: AddCredentialVersionInput!) { addCredentialVersion(input: $i) "
            "{ errors { message } } }",
            {"i": {"credentialId": self.id, "issueDate": "2026-06-01"}},
            HOLDER,
        )

    async def approve(self) -> None:
        await _graphql(
            self.port,
            "mutation($id: ID!) { approveCredential(id: $id) { errors { message } } }",
            {"id": self.id},
            REVIEWER,
        )


@contextlib.asynccontextmanager
async def _subscribers(port: int, count: int, after: str) -> AsyncIterator[list[ClientConnection]]:
    gate = asyncio.Semaphore(50)
    async with contextlib.AsyncExitStack() as stack:

        async def open_one() -> ClientConnection:
            async with gate:
                ws = await stack.enter_async_context(
                    connect(
                        f"ws://127.0.0.1:{port}/graphql", subprotocols=[PROTOCOL], max_queue=None
                    )
                )
                await ws.send(
                    json.dumps(
                        {"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN}"}}
                    )
                )
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                await ws.send(
                    json.dumps(
                        {
                            "id": "1",
                            "type": "subscribe",
                            "payload": {"query": SUBSCRIPTION, "variables": {"after": after}},
                        }
                    )
                )
                return ws

        sockets = await asyncio.gather(*(open_one() for _ in range(count)))
        await _until_live(port, count)
        yield list(sockets)


async def _until_live(port: int, count: int) -> None:
    wanted = {f"graphql_subscriptions_open {float(count)}", "graphql_subscriptions_replaying 0.0"}
    async with httpx.AsyncClient() as http:
        while True:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            if wanted <= set(metrics.splitlines()):
                return
            await asyncio.sleep(0.05)


async def _arrivals(sockets: list[ClientConnection], started: float) -> list[float]:
    async def one(ws: ClientConnection) -> float:
        message = json.loads(await ws.recv())
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one(ws) for ws in sockets)))


def _summary(name: str, rounds: list[list[float]]) -> tuple[float, float, float]:
    every = sorted(x for r in rounds for x in r)
    p50 = statistics.median(every)
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))]
    last = statistics.median(max(r) for r in rounds)
    print(
        f"{name:<34} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
        f"all delivered (median of rounds) {last:7.1f} ms"
    )
    return p50, p99, last


async def _graphql_scenario(
    name: str, mutate_port: int, subscribe_port: int, count: int, rounds: int
) -> tuple[float, float, float]:
    credential = Credential(mutate_port)
    await credential.create()
    head = (await _graphql(subscribe_port, "{ credentialEventsCursor }", {}, ADMIN))[
        "credentialEventsCursor"
    ]
    results = []
    async with _subscribers(subscribe_port, count, head) as sockets:
        for number in range(rounds + 1):
            if number:
                await credential.renew()
            started = time.perf_counter()
            waiting = asyncio.create_task(_arrivals(sockets, started))
            await credential.approve()
            arrived = await waiting
            if number:  # the first round warms caches up
                results.append(arrived)
    return _summary(name, results)


async def _raw_scenario(port: int, count: int, rounds: int) -> tuple[float, float, float]:
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(connect(f"ws://127.0.0.1:{port}/ws", max_queue=None))
            for _ in range(count)
        ]
        async with httpx.AsyncClient(timeout=60) as http:
            while True:
                health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
                if health["connected"] == count:
                    break
                await asyncio.sleep(0.05)
            results = []
            for number in range(rounds + 1):
                started = time.perf_counter()
                waiting = asyncio.create_task(_arrivals(sockets, started))
                await http.post(f"http://127.0.0.1:{port}/publish")
                arrived = await waiting
                if number:
                    results.append(arrived)
    return _summary("baseline: bare WebSocket fan-out", results)


async def main(count: int, rounds: int, redis_url: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        base = {
            "DATABASE_URL": f"sqlite:///{directory}/bench.db",
            "LOAD_DEMO_DATA": "true",
            "EXPIRY_SCHEDULER": "false",
            "RATE_LIMIT_CAPACITY": "0",
            "LOG_LEVEL": "WARNING",
        }
        print(f"{count} subscribers, {rounds} rounds, one event a round")
        with _process(RAW, {}) as raw:
            baseline = await _raw_scenario(raw, count, rounds)
        with _process(SERVE, base) as single:
            one = await _graphql_scenario("one instance (memory://)", single, single, count, rounds)
        redis = {**base, "BROADCAST_URL": redis_url}
        with _process(SERVE, redis) as first, _process(SERVE, redis) as second:
            two = await _graphql_scenario(
                "two instances (through Redis)", first, second, count, rounds
            )
        for name, figures in (("one instance", one), ("two instances", two)):
            ratios = " / ".join(f"{f / b:5.1f}x" for f, b in zip(figures, baseline, strict=True))
            print(f"{name:<14} vs baseline (p50 / p99 / all): {ratios}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    options = parser.parse_args()
    asyncio.run(main(options.subscribers, options.rounds, options.redis))
