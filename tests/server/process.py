"""Run the service as a real process: `python -m server serve` on a free port.

`running_server` starts it with the given environment, waits until /healthz answers,
yields where it listens and everything it has printed so far (stdout and stderr merged,
read continuously so the pipe never fills), and stops it at the end: SIGTERM first, then
SIGKILL if it does not exit in time. `serve_until_exit` is for starts that must fail.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

# Every variable server/settings.py reads: a developer's shell must not leak into a test.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "BROADCAST_URL",
    "HOST",
    "PORT",
    "ENVIRONMENT",
    "SECRET_KEY",
    "GRAPHIQL",
    "GRAPHIQL_ASSETS_URL",
    "INTROSPECTION",
    "ALLOWED_ORIGINS",
    "LOAD_DEMO_DATA",
    "SQLITE_BUSY_TIMEOUT_MS",
    "LOG_LEVEL",
    "MAX_QUERY_DEPTH",
    "MAX_QUERY_ALIASES",
    "MAX_QUERY_TOKENS",
    "MAX_QUERY_COST",
    "RATE_LIMIT_CAPACITY",
    "RATE_LIMIT_RESTORE_RATE",
    "EXPIRY_SCHEDULER",
    "EXPIRY_SWEEP_INTERVAL_S",
    "EVENT_POLL_INTERVAL_MS",
    "BROADCAST_HEARTBEAT_MS",
    "SUBSCRIBER_QUEUE_SIZE",
    "MAX_SUBSCRIPTIONS_PER_CONNECTION",
    "SUBSCRIPTION_AUTH_RECHECK_S",
    "WS_INIT_TIMEOUT_MS",
    "SMTP_URL",
    "SMTP_FROM",
    "PUBLIC_URL",
    "SMTP_TIMEOUT_S",
    "DELIVERY_WORKER",
    "DELIVERY_INTERVAL_S",
    "DELIVERY_MAX_ATTEMPTS",
    "DELIVERY_RETRY_BASE_S",
)
DEMO_TOKENS_HEADING = "Demo users and their API tokens"
STARTUP_COMPLETE = "Application startup complete"
_DEMO_TOKEN_LINE = re.compile(r"^\s+(?P<name>\S.*?)\s{2,}.*\s(?P<token>cred_[A-Za-z0-9_-]+)\s*$")
_POLL_INTERVAL_S = 0.05
_STOP_TIMEOUT_S = 10.0
_START_ATTEMPTS = 3
_PORT_TAKEN = "error while attempting to bind"


def service_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The current environment without the service's settings, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


CLI_TIMEOUT_S = 60


def run_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """One `python -m server` command in a process of its own, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=service_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def is_listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ServerExitedError(RuntimeError):
    """The process ended while it was expected to serve."""

    def __init__(self, returncode: int, output: str) -> None:
        super().__init__(
            f"the server exited with code {returncode} before it was ready; "
            f"the output was:\n{output}"
        )
        self.returncode = returncode
        self.output = output


class OutputLog:
    """The lines a process prints, collected by a thread; waiters are woken on each line."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._closed = False
        self._changed = threading.Condition()

    def follow(self, stream: Iterator[str]) -> None:
        try:
            for line in stream:
                with self._changed:
                    self._lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    @property
    def closed(self) -> bool:
        """Whether the process closed its output (it is ending or has ended)."""
        with self._changed:
            return self._closed

    def printed(self, needle: str, timeout: float) -> bool:
        """Wait until a line contains `needle`: True, or False at `timeout` or end of output."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(needle in line for line in self._lines):
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for(self, needle: str, timeout: float) -> None:
        """Like `printed`, failing the test with the whole output when the line never comes."""
        if not self.printed(needle, timeout):
            raise AssertionError(f"{needle!r} was not printed; the output was:\n{self.text}")


@dataclass(frozen=True)
class RunningServer:
    port: int
    process: subprocess.Popen[str]
    output: OutputLog

    def stop(self) -> int:
        """Stop the server now (SIGTERM, then SIGKILL); its exit code."""
        return _stop(self.process)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def demo_tokens(self) -> dict[str, str]:
        """The demo users' tokens the service printed at start-up, by user name."""
        self.output.wait_for(DEMO_TOKENS_HEADING, timeout=5)
        lines = self.output.text.splitlines()
        start = next(i for i, line in enumerate(lines) if DEMO_TOKENS_HEADING in line)
        tokens: dict[str, str] = {}
        for line in lines[start + 1 :]:
            match = _DEMO_TOKEN_LINE.match(line)
            if match is None:
                break
            tokens[match["name"]] = match["token"]
        return tokens


def _serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)]


def _wait_until_serving(
    process: subprocess.Popen[str], port: int, output: OutputLog, timeout: float
) -> None:
    """Until this process says it listens on `port` (so whatever answers there is this
    process, not another one that took the port) and its /healthz answers 200."""
    deadline = time.monotonic() + timeout
    if not output.printed(f"Uvicorn running on http://127.0.0.1:{port}", timeout):
        if not output.closed:
            raise TimeoutError(f"the server did not listen within {timeout} s:\n{output.text}")
        raise ServerExitedError(process.wait(timeout=_STOP_TIMEOUT_S), output.text)
    url = f"http://127.0.0.1:{port}/healthz"
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while True:
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"/healthz did not answer within {timeout} s:\n{output.text}")
            try:
                # Waits for the process to exit, which doubles as the pause between polls.
                code = process.wait(timeout=_POLL_INTERVAL_S)
            except subprocess.TimeoutExpired:
                continue
            raise ServerExitedError(code, output.text)


def _stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@contextmanager
def _spawned(
    port: int, env: Mapping[str, str]
) -> Iterator[tuple[subprocess.Popen[str], OutputLog]]:
    with subprocess.Popen(
        _serve_command(port),
        cwd=ROOT,
        env=service_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        output = OutputLog()
        reader = threading.Thread(target=output.follow, args=(process.stdout,), daemon=True)
        reader.start()
        try:
            yield process, output
        finally:
            _stop(process)
            reader.join(timeout=_STOP_TIMEOUT_S)


@contextmanager
def running_server(env: Mapping[str, str], *, timeout: float = 30.0) -> Iterator[RunningServer]:
    """`python -m server serve` with `env` (see `service_env`), ready to take requests."""
    for attempt in range(1, _START_ATTEMPTS + 1):
        port = free_port()
        with _spawned(port, env) as (process, output):
            try:
                _wait_until_serving(process, port, output, timeout)
            except ServerExitedError as exited:
                # Another process may take the free port before uvicorn binds it: try another.
                if _PORT_TAKEN in exited.output and attempt < _START_ATTEMPTS:
                    continue
                raise
            output.wait_for(STARTUP_COMPLETE, timeout=5)
            yield RunningServer(port=port, process=process, output=output)
            return


@dataclass(frozen=True)
class ExitedServer:
    port: int
    returncode: int
    output: str


def serve_until_exit(env: Mapping[str, str], *, timeout: float = 30.0) -> ExitedServer:
    """Start `python -m server serve` expecting it to give up on its own; fails the test
    (killing the process) if it is still running after `timeout`."""
    port = free_port()
    completed = subprocess.run(
        _serve_command(port),
        cwd=ROOT,
        env=service_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ExitedServer(port=port, returncode=completed.returncode, output=completed.stdout)
