"""Command line: serve, migrate, and the administration of tenants, users and tokens
(CSV in server.csv_cli, the sweep and the delivery worker in server.notifications_cli).

One entry point (`credentials-api`, or `python -m server`) with subcommands; each has --help.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.media import select_stored_keys
from models.tenancy import unscoped
from models.user import User
from server.cli_errors import CommandError, ExitCode, unavailable
from server.database import Database
from server.logs import configure_logging
from server.media_store import create_media_store
from server.migrations import applied_revisions, pending_migrations, upgrade_to_head
from server.settings import Settings, SettingsError
from services import identity
from services.errors import DomainError
from services.media.encryption import EncryptedMediaStore, reseal_all
from services.media.storage import LocalMediaStore
from services.media.sweep import sweep

T = TypeVar("T")

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def emit(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str))


def on_database(
    settings: Settings, work: Callable[[Database], Awaitable[T]], *, create_folder: bool = False
) -> T:
    """Run `work` on a database of its own, closed afterwards. A database that does not
    answer is a CommandError (UNAVAILABLE), found before `work` starts."""

    async def run() -> T:
        path = settings.sqlite_path()
        if path is not None and not create_folder and not path.exists():
            raise CommandError(
                f"there is no database at {path}: run `credentials-api migrate` first "
                "(or check DATABASE_URL)",
                ExitCode.NOT_MIGRATED,
            )
        database = Database(settings.database_url)
        try:
            try:
                if create_folder and path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                await database.ping()
            except (OSError, SQLAlchemyError) as error:
                raise unavailable("the database", settings.database_url, error) from None
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


async def require_migrated(database: Database) -> None:
    if pending := await pending_migrations(database):
        raise CommandError(
            f"the database schema is not up to date ({', '.join(pending)}): "
            "run `credentials-api migrate` first",
            ExitCode.NOT_MIGRATED,
        )


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from server.app import create_app

    if not settings.is_sqlite:  # SQLite is migrated at start-up; elsewhere it is a deploy step
        on_database(settings, require_migrated)

    configure_logging(settings.log_level)
    app = create_app(settings)
    _tune_garbage_collection()
    signal.signal(signal.SIGTERM, _exit_after_drain)
    uvicorn.run(
        app,
        log_config=None,  # keep the JSON logging configured above
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


def _exit_after_drain(signum: int, _: object) -> None:
    """SIGTERM's handler outside uvicorn's own. uvicorn catches the signal, drains, and
    then raises it again to the handler that was in place before it started, which would
    end the process with 143: with this one a stop that drained cleanly exits 0, as
    process managers expect of a clean stop (and a SIGTERM before uvicorn listens ends the
    process at once, with nothing to drain)."""
    raise SystemExit(0)


def _tune_garbage_collection() -> None:
    """A request makes many short-lived objects and few cycles: collect the youngest
    generation less often, and keep what start-up built (modules, the schema) out of
    every collection (bench/README.md: the dashboard page)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _migrate(_: argparse.Namespace, settings: Settings) -> None:
    async def migrate(database: Database) -> dict[str, Any]:
        before = await applied_revisions(database)
        await upgrade_to_head(database)
        after = await applied_revisions(database)
        revision = after[-1].split()[0]
        return {"migrated": True, "applied": after[len(before) :], "revision": revision}

    emit(on_database(settings, migrate, create_folder=True))


def _export_schema(args: argparse.Namespace, _: Settings) -> None:
    from schema import export_sdl

    sdl = export_sdl()
    if args.check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != sdl:
            raise CommandError(
                "schema.graphql is out of date: run `credentials-api export-schema` and commit it",
                ExitCode.FAILED,
            )
        print("schema.graphql is up to date")
        return
    SCHEMA_FILE.write_text(sdl)
    print(f"wrote {SCHEMA_FILE.name}")


def _reseal_media(_: argparse.Namespace, settings: Settings) -> None:
    store = create_media_store(settings)
    if not isinstance(store, EncryptedMediaStore):
        raise SettingsError("reseal-media needs MEDIA_ENCRYPTION_KEYS: the new key first")

    async def reseal(database: Database) -> dict[str, int]:
        await require_migrated(database)
        async with database.read(unscoped()) as session:
            keys = list(await session.scalars(select_stored_keys()))
        return await reseal_all(store, keys)

    emit(on_database(settings, reseal))


def _sweep_media(args: argparse.Namespace, settings: Settings) -> None:
    store = create_media_store(settings)
    older_than = utcnow() - timedelta(minutes=args.older_than_minutes)

    async def run(database: Database) -> dict[str, int]:
        await require_migrated(database)
        async with database.read(unscoped()) as session:
            referenced = set(await session.scalars(select_stored_keys()))
        counts = await sweep(store, referenced, older_than)
        local = store.inner if isinstance(store, EncryptedMediaStore) else store
        if isinstance(local, LocalMediaStore):
            counts["interrupted_writes"] = await local.remove_interrupted_writes(older_than)
        return counts

    emit(on_database(settings, run))


AdminWork = Callable[[AsyncSession, argparse.Namespace], Awaitable[dict[str, Any]]]


def _admin(work: AdminWork) -> Callable[[argparse.Namespace, Settings], None]:
    """A command that runs `work` in one unscoped transaction and prints what it returns."""

    def run(args: argparse.Namespace, settings: Settings) -> None:
        async def in_transaction(database: Database) -> dict[str, Any]:
            await require_migrated(database)
            async with database.transaction(unscoped()) as session:
                return await work(session, args)

        emit(on_database(settings, in_transaction))

    return run


async def _create_org(session: AsyncSession, args: argparse.Namespace) -> dict[str, Any]:
    organization = await identity.create_organization(session, args.name)
    return {"organization_id": organization.id, "name": organization.name}


async def _create_permission_set(session: AsyncSession, args: argparse.Namespace) -> dict[str, Any]:
    permission_set = await identity.create_permission_set(
        session, args.org, args.name, args.permission or []
    )
    return {"permission_set_id": permission_set.id, "permissions": permission_set.permissions}


async def _create_company(session: AsyncSession, args: argparse.Namespace) -> dict[str, Any]:
    company = await identity.create_company(
        session, args.org, args.name, args.contact_email, args.contact_phone
    )
    for user_id in args.manager or []:
        await identity.add_company_manager(session, args.org, company.id, user_id)
    for user_id in args.key_contact or []:
        await identity.add_key_contact(session, args.org, company.id, user_id)
    return {"company_id": company.id, "name": company.name}


async def _create_user(session: AsyncSession, args: argparse.Namespace) -> dict[str, Any]:
    user = await identity.create_user(
        session,
        args.org,
        args.name,
        args.email,
        company_id=args.company,
        permission_set_id=args.permission_set,
        is_active=not args.inactive,
    )
    return {"user_id": user.id, "email": user.email}


async def _issue_token(session: AsyncSession, args: argparse.Namespace) -> dict[str, Any]:
    user = await session.get(User, args.user)
    if user is None:
        raise DomainError(identity.IdentityErrorCode.NOT_FOUND, f"no user {args.user}", "user")
    record, token = await identity.issue_token(session, user, args.name)
    return {"token_id": record.id, "token": token, "note": "shown once: store it now"}


async def _revoke_token(session: AsyncSession, args: argparse.Namespace) -> dict[str, Any]:
    token = await identity.revoke_token(session, args.org, args.token_id, utcnow())
    return {"token_id": token.id, "revoked_at": token.revoked_at}


def _revoke_token_everywhere(args: argparse.Namespace, settings: Settings) -> None:
    """Revokes, then tells every instance, which closes the token's subscriptions at once
    (without a broker they find out at their next check)."""
    from server.broker import publish_once, revoked_token_signal

    _admin(_revoke_token)(args, settings)
    try:
        asyncio.run(publish_once(settings.broadcast_url, [revoked_token_signal(args.token_id)]))
    except OSError as error:  # revoked all the same: instances see it at their next check
        print(
            f"warning: {unavailable('the broker', settings.broadcast_url, error)}; open "
            "subscriptions of the token end at their next re-check (SUBSCRIPTION_AUTH_RECHECK_S)",
            file=sys.stderr,
        )


def _backup(args: argparse.Namespace, settings: Settings) -> None:
    """A consistent copy of the embedded SQLite database while the service runs (SQLite's
    online backup: readers and writers go on; the copy is one moment of it)."""
    source = settings.sqlite_path()
    if source is None:
        raise SettingsError(
            "backup copies the embedded SQLite database; on PostgreSQL use pg_dump "
            "(see the README's operations guide)"
        )
    if not source.exists():
        raise CommandError(f"there is no database at {source}", ExitCode.FILE)
    target = Path(args.target)
    if target.exists():
        raise CommandError(
            f"{target} exists: choose a new file, a backup never overwrites", ExitCode.FILE
        )
    if not target.parent.is_dir():
        raise CommandError(
            f"the folder {target.parent} does not exist: create it, or choose another",
            ExitCode.FILE,
        )
    try:
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
            live.backup(copy)
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)
        raise CommandError(f"the backup to {target} failed: {error}", ExitCode.FILE) from None
    emit({"backup": str(target), "bytes": target.stat().st_size})


def _import_csv(args: argparse.Namespace, settings: Settings) -> None:
    from server.csv_cli import import_file, judge_import, progress_bar

    async def run(database: Database) -> dict[str, Any]:
        await require_migrated(database)
        return await import_file(database, args, progress_bar(sys.stderr, quiet=args.quiet))

    report = on_database(settings, run)
    emit(report)
    judge_import(report)


def _export_csv(args: argparse.Namespace, settings: Settings) -> None:
    from server.csv_cli import export_file

    async def run(database: Database) -> int:
        await require_migrated(database)
        return await export_file(database, args, args.filter)

    on_database(settings, run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="credentials-api",
        description="Workforce credentials API. Settings come from the environment "
        "(DATABASE_URL, BROADCAST_URL, ENVIRONMENT, SECRET_KEY, ...: see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API (applies migrations on SQLite)")
    serve.add_argument("--host", help="interface to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 8000)")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export-schema", help="write schema.graphql (sorted SDL)")
    export.add_argument("--check", action="store_true", help="fail if the file is out of date")
    export.set_defaults(run=_export_schema)

    backup = commands.add_parser(
        "backup", help="copy the SQLite database while the service runs (online backup)"
    )
    backup.add_argument("target", help="the file to write; must not exist")
    backup.set_defaults(run=_backup)

    reseal = commands.add_parser(
        "reseal-media",
        help="encrypt every media file with the first of MEDIA_ENCRYPTION_KEYS (key rotation)",
    )
    reseal.set_defaults(run=_reseal_media)

    sweep_media = commands.add_parser(
        "sweep-media",
        help="remove media files no credential names (left by a crash mid-upload)",
    )
    sweep_media.add_argument(
        "--older-than-minutes",
        type=int,
        default=60,
        help="leave younger files alone: their upload may still be running (default 60)",
    )
    sweep_media.set_defaults(run=_sweep_media)

    org = commands.add_parser("create-org", help="create an organization")
    org.add_argument("name")
    org.set_defaults(run=_admin(_create_org))

    pset = commands.add_parser("create-permission-set", help="create a permission set")
    pset.add_argument("--org", type=int, required=True, help="organization id")
    pset.add_argument("name")
    pset.add_argument(
        "--permission",
        action="extend",
        nargs="+",
        metavar="PERMISSION",
        help="one or more of CREDENTIALS_MANAGE, USERS_MANAGE, COMPANIES_MANAGE "
        "(--permission A B, or --permission A --permission B)",
    )
    pset.set_defaults(run=_admin(_create_permission_set))

    company = commands.add_parser("create-company", help="create a contractor company")
    company.add_argument("--org", type=int, required=True, help="organization id")
    company.add_argument("name")
    company.add_argument("--contact-email")
    company.add_argument("--contact-phone")
    company.add_argument("--manager", type=int, action="append", help="user id of a manager")
    company.add_argument("--key-contact", type=int, action="append", help="user id")
    company.set_defaults(run=_admin(_create_company))

    user = commands.add_parser("create-user", help="create a user")
    user.add_argument("--org", type=int, required=True, help="organization id")
    user.add_argument("--name", required=True)
    user.add_argument("--email", required=True)
    user.add_argument("--company", type=int, help="contractor company id")
    user.add_argument("--permission-set", type=int, help="permission set id")
    user.add_argument("--inactive", action="store_true", help="create the user deactivated")
    user.set_defaults(run=_admin(_create_user))

    issue = commands.add_parser("issue-token", help="issue an API token (printed once)")
    issue.add_argument("--user", type=int, required=True, help="user id")
    issue.add_argument("--name", default="cli", help="what the token is for")
    issue.set_defaults(run=_admin(_issue_token))

    revoke = commands.add_parser("revoke-token", help="revoke an API token")
    revoke.add_argument("--org", type=int, required=True, help="organization id")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(run=_revoke_token_everywhere)

    from server import csv_cli, notifications_cli

    csv_cli.add_commands(commands, _import_csv, _export_csv)
    notifications_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Runs one command; an expected failure prints one line on stderr and exits with its
    code (server.cli_errors.ExitCode)."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        args.run(args, settings)
    except CommandError as error:
        _fail(str(error), error.code)
    except SettingsError as error:
        _fail(str(error), ExitCode.USAGE)
    except DomainError as error:
        _fail(str(error), ExitCode.REFUSED)


def _fail(message: str, code: ExitCode) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)
