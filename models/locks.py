"""A database-wide lock for one-off setup work (migrations, demo data) that several
instances starting together must not do twice."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Any constant will do: it only has to be the same for every instance of this service.
_SETUP_LOCK_KEY = 7_415_020_113


def hold_setup_lock(connection: Connection) -> None:
    """Until the transaction ends. SQLite needs none: its write transactions
    (BEGIN IMMEDIATE) already exclude each other."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SETUP_LOCK_KEY})
