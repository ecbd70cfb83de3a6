"""Expected failures of the command line, as an operator meets them: each exits with the
code of its kind (server.cli_errors.ExitCode) and says what is wrong in one line on
stderr, never with a traceback."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.cli_errors import ExitCode
from tests.server.process import run_cli


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a migrated SQLite database, `x.db`."""
    folder = tmp_path_factory.mktemp("cli-failures")
    result = run_cli({"DATABASE_URL": f"sqlite:///{folder / 'x.db'}"}, "migrate")
    assert result.returncode == 0, result.stderr
    (folder / "taken.csv").write_text("")
    return folder


@dataclass(frozen=True)
class Failure:
    env: dict[str, str]
    args: list[str]
    code: ExitCode
    says: str


def _failures(folder: Path) -> dict[str, Failure]:
    db = {"DATABASE_URL": f"sqlite:///{folder / 'x.db'}", "LOAD_DEMO_DATA": "false"}
    unreachable = f"postgresql://nobody:hunter2@127.0.0.1:{_closed_port()}/none"
    return {
        "backup-into-a-missing-folder": Failure(
            db,
            ["backup", str(folder / "no-such-folder" / "b.db")],
            ExitCode.FILE,
            "no-such-folder does not exist",
        ),
        "backup-of-no-database": Failure(
            {"DATABASE_URL": f"sqlite:///{folder / 'none.db'}"},
            ["backup", str(folder / "b.db")],
            ExitCode.FILE,
            "there is no database at",
        ),
        "migrate-an-unreachable-database": Failure(
            {"DATABASE_URL": unreachable}, ["migrate"], ExitCode.UNAVAILABLE, "did not answer"
        ),
        "an-unsupported-database-url": Failure(
            {"DATABASE_URL": "mysql://db/credentials"},
            ["migrate"],
            ExitCode.USAGE,
            "DATABASE_URL 'mysql://db/credentials' is not supported",
        ),
        "an-unsupported-broadcast-url": Failure(
            {**db, "BROADCAST_URL": "kafka://broker"},
            ["sweep-expiry"],
            ExitCode.USAGE,
            "BROADCAST_URL 'kafka://broker' is not supported",
        ),
        "a-command-before-migrate": Failure(
            {"DATABASE_URL": f"sqlite:///{folder / 'never.db'}"},
            ["create-org", "Too Early"],
            ExitCode.NOT_MIGRATED,
            "run `credentials-api migrate` first",
        ),
        "an-unknown-user": Failure(
            db, ["issue-token", "--user", "999999"], ExitCode.REFUSED, "no user 999999"
        ),
        "an-unknown-organization": Failure(
            db, ["create-company", "--org", "999999", "Ghost"], ExitCode.REFUSED, "999999"
        ),
        "import-of-a-missing-file": Failure(
            db,
            ["import-csv", str(folder / "missing.csv"), "--user", "1"],
            ExitCode.FILE,
            "missing.csv is not a file",
        ),
        "import-by-an-unknown-user": Failure(
            db,
            ["import-csv", str(folder / "taken.csv"), "--user", "999999"],
            ExitCode.REFUSED,
            "no active user 999999",
        ),
        "export-over-an-existing-file": Failure(
            db,
            ["export-csv", "--user", "1", "-o", str(folder / "taken.csv")],
            ExitCode.FILE,
            "taken.csv exists",
        ),
        "export-with-a-bad-filter": Failure(
            db, ["export-csv", "--user", "1", "--filter", "{not json"], ExitCode.USAGE, "--filter"
        ),
    }


CASES = sorted(_failures(Path("/nonexistent")))


@pytest.mark.parametrize("case", CASES)
def test_an_expected_failure_says_one_line_and_exits_with_its_code(
    migrated: Path, case: str
) -> None:
    # Given a mistake an operator makes
    failure = _failures(migrated)[case]

    # When the command runs
    result = run_cli(failure.env, *failure.args)

    # Then it exits with the code of its kind and one line on stderr, and prints nothing else
    assert result.returncode == failure.code, result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert failure.says in line
    assert "hunter2" not in line  # a URL's password never reaches the terminal


def test_permission_takes_several_values_after_one_flag(migrated: Path) -> None:
    # Given an organization
    env = {"DATABASE_URL": f"sqlite:///{migrated / 'x.db'}", "LOAD_DEMO_DATA": "false"}
    created = run_cli(env, "create-org", "Several Permissions")
    assert created.returncode == 0, created.stderr
    org = str(json.loads(created.stdout)["organization_id"])

    # When a permission set is created with two permissions after one --permission
    result = run_cli(
        env, "create-permission-set", "--org", org, "Admins", "--permission", "USERS_MANAGE",
        "CREDENTIALS_MANAGE",
    )  # fmt: skip

    # Then it holds both, as with the flag repeated
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["permissions"] == ["USERS_MANAGE", "CREDENTIALS_MANAGE"]
