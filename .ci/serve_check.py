"""The README's serve command as a newcomer runs it: `python3 scripts/serve.py` starts, its
demo administrator's token answers `{ me { name } }`, GraphiQL is served, and a SIGTERM
stops it cleanly with exit code 0. Stdlib only: it runs before and outside .venv.

Usage (from the project root): python3 .ci/serve_check.py
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 300  # the first run installs .venv
STOP_TIMEOUT_S = 30
TOKEN = re.compile(r"^\s+Ada Admin\s+.*?(cred_\S+)\s*$")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(url: str, token: str, query: str) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body: dict[str, object] = json.load(response)
        return body


def main() -> int:
    port = _free_port()
    command = [sys.executable, "scripts/serve.py", "--port", str(port)]
    print(f"[serve-check] {' '.join(command[1:])} (Python {sys.version.split()[0]})", flush=True)
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert server.stdout is not None
    token: list[str] = []
    listening = threading.Event()
    output: list[str] = []

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            output.append(line)
            if match := TOKEN.match(line):
                token.append(match.group(1))
            if f":{port}" in line and "running on" in line.lower():
                listening.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not listening.wait(1):
            if server.poll() is not None or time.monotonic() > deadline:
                print("".join(output[-40:]), flush=True)
                print(f"[serve-check] FAILED: the server did not start (exit {server.poll()})")
                return 1
        url = f"http://127.0.0.1:{port}/graphql"
        answer = _post(url, token[0], "{ me { name } }")
        if answer.get("data") != {"me": {"name": "Ada Admin"}}:
            print(f"[serve-check] FAILED: {{ me {{ name }} }} answered {answer}")
            return 1
        page = urllib.request.Request(url, headers={"Accept": "text/html"})
        with urllib.request.urlopen(page, timeout=10) as response:
            if "graphiql" not in response.read().decode().lower():
                print("[serve-check] FAILED: GET /graphql served no GraphiQL page")
                return 1
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=STOP_TIMEOUT_S)
        if code != 0:
            print("".join(output[-20:]), flush=True)
            print(f"[serve-check] FAILED: SIGTERM ended the server with exit code {code}, not 0")
            return 1
        print("[serve-check] ok: served { me { name } } and GraphiQL, SIGTERM exited 0")
        return 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    raise SystemExit(main())
