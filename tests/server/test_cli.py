"""The command line as an operator uses it: `python -m server ...` in a subprocess against
a SQLite file, each administration command printing one JSON line; refusals exit with
the code of their kind (server.cli_errors.ExitCode), say what is wrong in one line on
stderr and change nothing."""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.permission import Permission
from server.app import create_app
from server.cli import build_parser, main
from server.cli_errors import ExitCode
from server.settings import Settings, normalize_database_url
from tests.conftest import body_of
from tests.server.process import CLI_TIMEOUT_S, ROOT, run_cli, service_env

ME_QUERY = "{ me { name email company { name } } }"


def _json_line(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON object a successful command prints."""
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    payload: dict[str, Any] = json.loads(lines[0])
    return payload


def _row_counts(database: Path) -> dict[str, int]:
    """Rows per table: what a refused command must leave as it was."""
    with sqlite3.connect(database) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {
            table: int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in tables
        }
    connection.close()
    return counts


def _sqlite_env(database: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{database}", "LOAD_DEMO_DATA": "false"}


@dataclass(frozen=True)
class Provisioned:
    """What the provisioning commands printed, and where the database is."""

    database: Path
    env: dict[str, str]
    migrate: dict[str, Any]
    north: dict[str, Any]
    south: dict[str, Any]
    permission_set: dict[str, Any]
    acme: dict[str, Any]
    southern_cranes: dict[str, Any]
    user: dict[str, Any]
    issued: dict[str, Any]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *args)


def _cli_concurrently(env: dict[str, str], *commands: list[str]) -> list[dict[str, Any]]:
    """Run independent commands at once (SQLite serializes their writes); their JSON lines."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "server", *args],
            cwd=ROOT,
            env=service_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for args, process in zip(commands, processes, strict=True):
        with process:
            stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_S)
        results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return [_json_line(result) for result in results]


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Provisioned:
    """Given an operator who provisioned two tenants from scratch with the CLI."""
    database = tmp_path_factory.mktemp("cli") / "x.db"
    env = _sqlite_env(database)

    migrate = _json_line(run_cli(env, "migrate"))
    north, south = _cli_concurrently(
        env, ["create-org", "North Builders"], ["create-org", "South Builders"]
    )
    north_id, south_id = str(north["organization_id"]), str(south["organization_id"])
    permission_set, acme, southern_cranes = _cli_concurrently(
        env,
        [
            "create-permission-set",
            "--org",
            north_id,
            "Administrators",
            "--permission",
            "CREDENTIALS_MANAGE",
            "--permission",
            "USERS_MANAGE",
        ],
        ["create-company", "--org", north_id, "Acme Scaffolding"],
        ["create-company", "--org", south_id, "Southern Cranes"],
    )
    user = _json_line(
        run_cli(
            env,
            "create-user",
            "--org",
            north_id,
            "--name",
            "Alex Admin",
            "--email",
            "alex@north.example",
            "--company",
            str(acme["company_id"]),
            "--permission-set",
            str(permission_set["permission_set_id"]),
        )
    )
    issued = _json_line(run_cli(env, "issue-token", "--user", str(user["user_id"])))
    return Provisioned(
        database=database,
        env=env,
        migrate=migrate,
        north=north,
        south=south,
        permission_set=permission_set,
        acme=acme,
        southern_cranes=southern_cranes,
        user=user,
        issued=issued,
    )


@pytest.fixture
async def api(provisioned: Provisioned) -> AsyncIterator[httpx.AsyncClient]:
    """The service in-process on the CLI's database."""
    settings = replace(
        Settings(),
        database_url=normalize_database_url(provisioned.env["DATABASE_URL"]),
        load_demo_data=False,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.database.dispose()


async def _me(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.post(
        "/graphql", json={"query": ME_QUERY}, headers={"Authorization": f"Bearer {token}"}
    )


# --- provisioning --------------------------------------------------------------------------


def test_each_provisioning_command_prints_one_json_line(provisioned: Provisioned) -> None:
    # Given the provisioning run of the fixture
    # Then every command printed what it created, with ids to use in the next command
    assert provisioned.migrate["migrated"] is True
    assert provisioned.migrate["applied"][0].startswith("0001_identity ")
    assert provisioned.migrate["applied"][-1].startswith(provisioned.migrate["revision"] + " ")
    assert provisioned.north["name"] == "North Builders"
    assert provisioned.south["organization_id"] != provisioned.north["organization_id"]
    assert provisioned.permission_set["permissions"] == ["CREDENTIALS_MANAGE", "USERS_MANAGE"]
    assert provisioned.acme["name"] == "Acme Scaffolding"
    assert provisioned.user["email"] == "alex@north.example"
    assert provisioned.issued["token"].startswith("cred_")
    assert isinstance(provisioned.issued["token_id"], int)
    assert "shown once" in provisioned.issued["note"]


def test_migrate_twice_is_harmless(provisioned: Provisioned) -> None:
    # Given a migrated database holding data
    before = _row_counts(provisioned.database)

    # When migrate runs again
    result = provisioned.run("migrate")

    # Then it succeeds, says it applied nothing, and leaves the data as it was
    again = _json_line(result)
    assert again["applied"] == []
    assert again["revision"] == provisioned.migrate["revision"]
    assert _row_counts(provisioned.database) == before


async def test_sweep_expiry_says_what_is_due_then_sends_it_once_for_cron(
    provisioned: Provisioned, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    # Given a worker's credential, imported and approved, that expires in five days
    token = provisioned.issued["token"]
    org = str(provisioned.north["organization_id"])
    worker = ["--org", org, "--name", "Sam Rigger", "--email", "sam@north.example"]
    assert provisioned.run("create-user", *worker).returncode == 0
    created = await api.post(
        "/graphql",
        json={
            "query": "mutation T($input: CreateCredentialTypeInput!) "
            "{ createCredentialType(input: $input) { errors { code } } }",
            "variables": {"input": {"name": "Crane licence"}},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert body_of(created)["data"]["createCredentialType"]["errors"] == []
    expiry = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    register = tmp_path / "register.csv"
    register.write_text(
        "Holder email,Credential type,Issue date,Expiry date,Credential number\n"
        f"sam@north.example,Crane licence,2024-01-01,{expiry},C-1\n"
    )
    user = str(provisioned.user["user_id"])
    imported = provisioned.run(
        "import-csv", str(register), "--user", user, "--no-dry-run", "--approve-all", "--quiet"
    )
    assert imported.returncode == 0, imported.stderr

    # When cron runs a dry run, then the sweep twice
    dry = _json_line(provisioned.run("sweep-expiry", "--dry-run"))
    first = _json_line(provisioned.run("sweep-expiry"))
    second = _json_line(provisioned.run("sweep-expiry"))

    # Then the dry run lists the 7-day reminder and sends nothing, the first sweep sends it,
    # the second finds nothing left to send
    assert [(r["kind"], r["leadDays"], r["daysLeft"]) for r in dry["reminders"]] == [
        ("EXPIRING_SOON", 7, 5)
    ]
    assert (dry["reminders_sent"], first["reminders_sent"], second["reminders_sent"]) == (0, 1, 0)
    assert second["due"] == 0


async def test_backup_copies_what_is_committed_while_a_write_is_in_progress(
    provisioned: Provisioned, tmp_path: Path
) -> None:
    # Given a writer in the middle of a transaction on the live database
    committed = _row_counts(provisioned.database)
    writer = sqlite3.connect(provisioned.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO organizations (name, created_at) VALUES ('Half done', '2027-01-01')"
    )
    try:
        # When the operator backs it up
        target = tmp_path / "copy.db"
        result = _json_line(provisioned.run("backup", str(target)))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    # Then the copy is whole and holds exactly what was committed
    assert result["backup"] == str(target)
    with closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert _row_counts(target) == committed


def test_backup_never_overwrites_and_is_for_sqlite_only(provisioned: Provisioned) -> None:
    existing = provisioned.database
    refused = provisioned.run("backup", str(existing))
    on_postgres = run_cli(
        {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "backup", "/tmp/x.db"
    )

    assert refused.returncode == ExitCode.FILE
    assert "a backup never overwrites" in refused.stderr
    assert on_postgres.returncode == ExitCode.USAGE
    assert "pg_dump" in on_postgres.stderr


async def test_an_issued_token_authenticates_its_user(
    provisioned: Provisioned, api: httpx.AsyncClient
) -> None:
    # Given the token the CLI issued to the user it created
    token = provisioned.issued["token"]

    # When the service is asked who it belongs to
    response = await _me(api, token)

    # Then it is that user, in their company
    assert response.status_code == 200, response.text
    assert body_of(response) == {
        "data": {
            "me": {
                "name": "Alex Admin",
                "email": "alex@north.example",
                "company": {"name": "Acme Scaffolding"},
            }
        }
    }


async def test_a_revoked_token_is_refused(provisioned: Provisioned, api: httpx.AsyncClient) -> None:
    # Given a second token of the user, which works
    issued = _json_line(
        provisioned.run("issue-token", "--user", str(provisioned.user["user_id"]), "--name", "ci")
    )
    assert (await _me(api, issued["token"])).status_code == 200

    # When the operator revokes it
    revoked = _json_line(
        provisioned.run(
            "revoke-token",
            "--org",
            str(provisioned.north["organization_id"]),
            str(issued["token_id"]),
        )
    )

    # Then the revocation is reported, the token answers 401, and the first token still works
    assert revoked["token_id"] == issued["token_id"]
    assert revoked["revoked_at"]
    assert (await _me(api, issued["token"])).status_code == 401
    assert (await _me(api, provisioned.issued["token"])).status_code == 200


# --- refusals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    args: Callable[[Provisioned], list[str]]
    message: Callable[[Provisioned], list[str]]


REFUSALS = {
    "unknown-permission": Refusal(
        lambda p: [
            "create-permission-set",
            "--org",
            str(p.north["organization_id"]),
            "Auditors",
            "--permission",
            "CREDENTIALS_MANAGE",
            "--permission",
            "AUDIT_READ",
        ],
        lambda _: ["unknown permission 'AUDIT_READ'", *(p.value for p in Permission)],
    ),
    "duplicate-email-in-another-case": Refusal(
        lambda p: [
            "create-user",
            "--org",
            str(p.north["organization_id"]),
            "--name",
            "Alex Again",
            "--email",
            "ALEX@North.Example",
        ],
        lambda _: ["'ALEX@North.Example' exists"],
    ),
    "invalid-email": Refusal(
        lambda p: [
            "create-user",
            "--org",
            str(p.north["organization_id"]),
            "--name",
            "Nobody",
            "--email",
            "not-an-email",
        ],
        lambda _: ["'not-an-email' is not an email address"],
    ),
    "company-of-another-organization": Refusal(
        lambda p: [
            "create-user",
            "--org",
            str(p.north["organization_id"]),
            "--name",
            "Crossing Over",
            "--email",
            "cross@north.example",
            "--company",
            str(p.southern_cranes["company_id"]),
        ],
        lambda p: [f"no company {p.southern_cranes['company_id']} in this organization"],
    ),
    "manager-of-another-organization": Refusal(
        lambda p: [
            "create-company",
            "--org",
            str(p.south["organization_id"]),
            "Southern Scaffolds",
            "--manager",
            str(p.user["user_id"]),
        ],
        lambda p: [f"no user {p.user['user_id']} in this organization"],
    ),
    "token-of-another-organization": Refusal(
        lambda p: [
            "revoke-token",
            "--org",
            str(p.south["organization_id"]),
            str(p.issued["token_id"]),
        ],
        lambda p: [f"no token {p.issued['token_id']}"],
    ),
    "token-for-an-unknown-user": Refusal(
        lambda _: ["issue-token", "--user", "999999"], lambda _: ["no user 999999"]
    ),
    "empty-organization-name": Refusal(
        lambda _: ["create-org", "   "], lambda _: ["name must not be empty"]
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_command_exits_3_explains_and_changes_nothing(
    provisioned: Provisioned, case: str
) -> None:
    # Given the provisioned database
    refusal = REFUSALS[case]
    before = _row_counts(provisioned.database)

    # When the operator runs a command the rules refuse
    result = provisioned.run(*refusal.args(provisioned))

    # Then it exits 3 with one clear line on stderr, prints nothing, and changes nothing
    assert result.returncode == ExitCode.REFUSED, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    for expected in refusal.message(provisioned):
        assert expected in result.stderr
    assert _row_counts(provisioned.database) == before


def test_an_unknown_organization_is_refused_with_a_clear_message(
    provisioned: Provisioned,
) -> None:
    # Given the provisioned database
    before = _row_counts(provisioned.database)

    # When a company is created in an organization that does not exist
    result = provisioned.run("create-company", "--org", "999999", "Ghost Company")

    # Then it is refused like any other mistake
    assert result.returncode == ExitCode.REFUSED, result.stderr
    assert "no organization 999999" in result.stderr
    assert _row_counts(provisioned.database) == before


def test_administration_before_migrate_says_to_migrate(tmp_path: Path) -> None:
    # Given a database file that was never migrated
    env = _sqlite_env(tmp_path / "x.db")

    # When an organization is created in it
    result = run_cli(env, "create-org", "Too Early")

    # Then the operator is told what to run first
    assert result.returncode == ExitCode.NOT_MIGRATED
    assert "credentials-api migrate" in result.stderr


def test_migrate_creates_the_folder_of_the_sqlite_file(tmp_path: Path) -> None:
    # Given a SQLite path in a folder that does not exist yet
    database = tmp_path / "var" / "x.db"

    # When migrate runs
    result = run_cli(_sqlite_env(database), "migrate")

    # Then it creates the folder and the database, as serve would
    assert _json_line(result)["migrated"] is True
    assert database.exists()


# --- help and the committed schema ---------------------------------------------------------


def _subcommands() -> list[str]:
    actions = build_parser()._actions
    (commands,) = [a for a in actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(commands.choices)


SUBCOMMANDS = _subcommands()


def test_top_level_help_lists_every_subcommand(tmp_path: Path) -> None:
    # Given the installed entry point
    database = tmp_path / "x.db"

    # When an operator asks it for help
    result = run_cli(_sqlite_env(database), "--help")

    # Then it shows its usage and every subcommand, touching no database
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: credentials-api")
    assert {"serve", "migrate", "export-schema", "issue-token", "revoke-token"} <= set(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        assert name in result.stdout
    assert not database.exists()


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_every_subcommand_has_help(
    subcommand: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an environment whose settings would be refused (help must not need them)
    monkeypatch.setenv("DATABASE_URL", "mysql://nowhere/none")

    # When the subcommand is asked for help (in-process: the same parser the entry point runs)
    with pytest.raises(SystemExit) as exited:
        main([subcommand, "--help"])

    # Then it prints its own usage and exits 0
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: credentials-api {subcommand}")
    assert "-h, --help" in out


def test_export_schema_check_passes_on_the_committed_schema(tmp_path: Path) -> None:
    # Given the committed schema.graphql
    committed = (ROOT / "schema.graphql").read_text()

    # When the drift check runs
    result = run_cli(_sqlite_env(tmp_path / "x.db"), "export-schema", "--check")

    # Then it passes and leaves the file alone
    assert result.returncode == 0, result.stderr
    assert (ROOT / "schema.graphql").read_text() == committed
