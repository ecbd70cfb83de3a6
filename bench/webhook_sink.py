"""Webhook receivers for the delivery benchmark, in a process of their own: one Starlette
app served by uvicorn on each given port, answering 204 to every POST and recording its
webhook-id and receipt time (time.time(): the same clock as the sender's); GET /receipts
returns them as JSON.

Run: PYTHONPATH=. .venv/bin/python bench/webhook_sink.py PORT [PORT ...]
"""

from __future__ import annotations

import asyncio
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

receipts: list[tuple[str, float]] = []


async def hook(request: Request) -> Response:
    await request.body()
    receipts.append((request.headers.get("webhook-id", ""), time.time()))
    return Response(status_code=204)


async def dump(request: Request) -> Response:
    return JSONResponse(receipts)


app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/receipts", dump)])


async def main(ports: list[int]) -> None:
    servers = [
        uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=p, log_level="warning"))
        for p in ports
    ]
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):  # noqa: ASYNC110 - uvicorn has no event
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main([int(p) for p in sys.argv[1:]]))
