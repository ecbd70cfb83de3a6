"""Alembic environment: runs on a connection handed over by server.migrations, or on its own
engine when the `alembic` command is used directly (DATABASE_URL)."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import models
from server.settings import Settings, normalize_database_url

target_metadata = models.Base.metadata


def _run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")

shared_connection = context.config.attributes.get("connection")
if shared_connection is not None:
    _run_migrations(shared_connection)
else:
    if context.config.config_file_name:  # the `alembic` command: say what it applies
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    configured = context.config.get_main_option("sqlalchemy.url")
    url = normalize_database_url(configured) if configured else Settings.from_env().database_url
    asyncio.run(_run_on_own_engine(url))
