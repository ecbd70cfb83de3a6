"""A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol, and
GraphiQL's scripts served from this machine: the npm packages the page names, fetched
once with `npm pack` into var/test-cache (the CDN is out of reach here)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "var" / "test-cache" / "graphiql-assets"
PACKAGES = ("react@18.2.0", "react-dom@18.2.0", "graphiql@3.8.3")
_DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


def missing_tools() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
    if not ASSETS.exists() and shutil.which("npm") is None:
        return "npm is not installed: it fetches GraphiQL's scripts from the npm registry"
    return None


def graphiql_assets() -> Path:
    """A folder in unpkg's layout (`graphiql@3.8.3/graphiql.min.js`) for PACKAGES."""
    for package in PACKAGES:
        target = ASSETS / package
        if target.exists():
            continue
        with tempfile.TemporaryDirectory() as scratch:
            packed = subprocess.run(
                ["npm", "pack", package, "--silent", "--pack-destination", scratch],
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            ).stdout.split()[-1]
            unpacked = Path(scratch) / package
            unpacked.mkdir()
            # tar(1): tarfile's extraction filters are missing from Python 3.11.2
            subprocess.run(
                ["tar", "-xzf", str(Path(scratch) / packed), "--strip-components=1"],
                cwd=unpacked,
                check=True,
                timeout=60,
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(unpacked, target)
    return ASSETS


class Page:
    """One browser tab over the DevTools protocol."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        self._connection.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._connection.recv(timeout=30))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Polls `expression` (JavaScript) until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true after {timeout} s: {expression}")
            time.sleep(0.2)  # a browser renders on its own schedule: poll, there is no event


@contextmanager
def chromium_page() -> Iterator[Page]:
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [
                "chromium",
                "--headless=new",
                "--no-sandbox",  # root in a container
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HOME": profile},
        )
        try:
            assert process.stderr is not None
            browser_url = None
            for line in process.stderr:
                if match := _DEVTOOLS.search(line):
                    browser_url = match.group(1)
                    break
            assert browser_url, "chromium printed no DevTools address"
            threading.Thread(target=process.stderr.read, daemon=True).start()
            port = browser_url.split(":")[2].split("/")[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                [target] = [t for t in json.load(r) if t["type"] == "page"]
            with connect(target["webSocketDebuggerUrl"], max_size=None) as connection:
                page = Page(connection)
                page.call("Runtime.enable")
                yield page
        finally:
            process.terminate()
            process.wait(timeout=15)
            if process.stderr is not None:
                process.stderr.close()
