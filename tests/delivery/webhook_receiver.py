"""A real HTTP receiver of webhooks: a Starlette app under uvicorn on a free loopback
port, in a thread of its own (its own event loop), that verifies every request's
signature with the `standardwebhooks` package, as an integrator's receiver would.

`fail_next` answers the next N requests with 500; `hang` (every request) and `hold_at`
(the n-th) never answer until released (the sender's timeout must end the wait)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.server.process import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    verified_with: tuple[int, ...]  # which of the receiver's secrets verify it

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.received: list[Received] = []
        self.fail_next = 0
        self.status = 204
        self.hang = False  # every request from now on waits until released
        self.hold_at: int | None = None  # the n-th request (1 is the first) waits
        self.holding = threading.Event()
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.port = free_port()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def verified(self) -> list[Received]:
        return [r for r in self.received if r.verified_with]

    def release(self) -> None:
        self.released.set()

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers["x-path"] = request.url.path
        verified = []
        for n, secret in enumerate(self.secrets):
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(n)
        with self._lock:
            self.received.append(Received(headers, body, tuple(verified)))
            held = self.hang or self.hold_at == len(self.received)
            failing = self.fail_next > 0
            if failing and not held:
                self.fail_next -= 1
        if held:
            self.holding.set()
            # Until released (at the latest when the test ends): the sender gives up first.
            await asyncio.to_thread(self.released.wait)
            return PlainTextResponse("late", status_code=200)
        if failing:
            return PlainTextResponse("x" * 3000, status_code=500)
        return Response(status_code=self.status)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver._handle, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    # Listening before the thread starts: connections wait in the backlog until uvicorn
    # accepts them, so nothing waits for start-up.
    sock = socket.create_server(("127.0.0.1", receiver.port))
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])),
        name="webhook-receiver",
        daemon=True,
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        server.should_exit = True
        server.force_exit = True
        thread.join(30)
        sock.close()
