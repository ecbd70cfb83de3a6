"""A real SIGTERM to a running server: the request in flight is answered, WebSocket
clients get a close code that tells them to reconnect elsewhere, and the process ends."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path

import websockets
from websockets.exceptions import ConnectionClosed

from tests.server.process import running_server

ME = json.dumps({"query": "{ me { name } }"}).encode()
SHUTTING_DOWN = "Shutting down"
# uvicorn closes WebSockets with 1012, "service restart": clients retry elsewhere.
SERVICE_RESTART = 1012


def test_sigterm_answers_the_request_in_flight_then_exits(tmp_path: Path) -> None:
    with running_server({"DATABASE_URL": f"sqlite:///{tmp_path}/shutdown.db"}) as server:
        token = server.demo_tokens()["Ada Admin"]
        # given a request in flight: its headers sent, its body not yet complete
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
            head = (
                "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(ME)}\r\n\r\n"
            ).encode()
            client.sendall(head + ME[:5])
            # when the server is told to stop
            server.process.send_signal(signal.SIGTERM)
            server.output.wait_for(SHUTTING_DOWN, timeout=10)
            # then the request, once complete, is still answered in full
            client.sendall(ME[5:])
            response = b""
            while b"Ada Admin" not in response:
                chunk = client.recv(65536)
                if not chunk:
                    break
                response += chunk
        assert response.startswith(b"HTTP/1.1 200"), response
        assert b'"me":{"name":"Ada Admin"}' in response
        # and the process ends by itself
        code = server.process.wait(timeout=15)
    assert code == 0


def test_sigterm_closes_websockets_with_service_restart(tmp_path: Path) -> None:
    with running_server({"DATABASE_URL": f"sqlite:///{tmp_path}/shutdown.db"}) as server:
        token = server.demo_tokens()["Ada Admin"]

        async def subscriber_sees_close() -> int | None:
            async with websockets.connect(
                server.graphql_ws_url,
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            ) as socket_:
                await socket_.send(
                    json.dumps(
                        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                    )
                )
                assert json.loads(await socket_.recv())["type"] == "connection_ack"
                # when the server is told to stop, with this client connected
                server.process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(socket_.recv(), timeout=15)
                except ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None
                return None

        code = asyncio.run(subscriber_sees_close())
        # then it is told the service is restarting, and the process ends
        assert code == SERVICE_RESTART
        assert server.process.wait(timeout=15) == 0
