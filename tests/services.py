"""The PostgreSQL + Redis services for tests that run whole server processes on them."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests import backends
from tests.server.process import ROOT, free_port, is_listening, service_env


def services_or_skip() -> tuple[str, str]:
    """The PostgreSQL and Redis URLs; skips the test without them (fails it in CI)."""
    if backends.POSTGRES_URL and backends.REDIS_URL:
        return backends.POSTGRES_URL, backends.REDIS_URL
    message = "TEST_POSTGRES_URL and TEST_REDIS_URL are not set"
    if backends.REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def _plain_postgres_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/" + database))


@pytest.fixture
async def fresh_postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, not migrated; dropped at the end."""
    admin_url, _ = services_or_skip()
    name = f"credentials_e2e_{uuid.uuid4().hex[:12]}"
    admin_dsn = _plain_postgres_url(admin_url, urlsplit(admin_url).path.lstrip("/"))
    try:
        connection = await asyncpg.connect(admin_dsn)
    except OSError as error:
        message = f"PostgreSQL at TEST_POSTGRES_URL is not reachable: {error}"
        if backends.REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield _plain_postgres_url(admin_url, name)
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


def migrate_with_cli(database_url: str) -> str:
    """`python -m server migrate` as an operator runs it; what it printed."""
    migrated = subprocess.run(
        [sys.executable, "-m", "server", "migrate"],
        cwd=ROOT,
        env=service_env({"DATABASE_URL": database_url}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    return migrated.stdout


class PrivateRedis:
    """redis-server on a free port, stopped and started again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed"
            if backends.REQUIRE_SERVICES:
                pytest.fail(message)
            pytest.skip(message)
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while not is_listening(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.02)  # doubles as the pause between probes

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    try:
        yield redis
    finally:
        if redis.process is not None:
            redis.kill()
