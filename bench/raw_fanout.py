"""The fan-out ceiling for bench/subscribers.py: a bare Starlette WebSocket endpoint that
sends one fixed JSON message to every connected socket when POST /publish is called. No
GraphQL, no database, no permissions: what delivery alone costs on this machine.

Run by bench/subscribers.py: python bench/raw_fanout.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

_sockets: set[WebSocket] = set()
MESSAGE = json.dumps(
    {
        "type": "next",
        "payload": {"data": {"credentialEvents": {"kind": "APPROVED", "cursor": "x"}}},
    }
)


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    _sockets.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        _sockets.discard(websocket)


async def publish(_: Request) -> JSONResponse:
    await asyncio.gather(*(s.send_text(MESSAGE) for s in list(_sockets)))
    return JSONResponse({"sent": len(_sockets)})


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"connected": len(_sockets)})


app = Starlette(
    routes=[
        WebSocketRoute("/ws", socket),
        Route("/publish", publish, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
