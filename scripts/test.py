"""Run every check: lint, format, types, schema drift and the test suite.

Installs what is missing first. The PostgreSQL + Redis suite runs when TEST_POSTGRES_URL
and TEST_REDIS_URL are set; with CI=true they default to this project's CI services and
must be reachable. Extra arguments go to pytest (add `-n 0` to run in one process).
"""

from __future__ import annotations

import os
import sys

from _bootstrap import run_in_environment

CI_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
CI_REDIS_URL = "redis://127.0.0.1:6379/0"


def main(pytest_args: list[str]) -> int:
    env: dict[str, str] = {}
    if os.environ.get("CI", "").lower() == "true":
        env["TEST_POSTGRES_URL"] = os.environ.get("TEST_POSTGRES_URL", CI_POSTGRES_URL)
        env["TEST_REDIS_URL"] = os.environ.get("TEST_REDIS_URL", CI_REDIS_URL)
        env["TEST_REQUIRE_SERVICES"] = "1"
    steps = [
        ("ruff check", ["-m", "ruff", "check", "."]),
        ("ruff format", ["-m", "ruff", "format", "--check", "."]),
        ("mypy", ["-m", "mypy"]),
        ("schema.graphql", ["-m", "server", "export-schema", "--check"]),
        # One worker per core: most of the suite waits on databases and processes.
        ("pytest", ["-m", "pytest", "-n", "auto", *pytest_args]),
    ]
    for name, args in steps:
        print(f"==> {name}", flush=True)
        code = run_in_environment(*args, env=env)
        if code != 0:
            print(f"==> {name} failed (exit {code})", flush=True)
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
