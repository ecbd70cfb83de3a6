"""Which failures mean that a service we depend on is away (the database, the broker),
rather than a bug: those answer SERVICE_UNAVAILABLE, and the client may retry."""

from __future__ import annotations

import sqlite3

from asyncpg.exceptions import PostgresConnectionError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Seconds a client is told to wait before retrying.
RETRY_AFTER_SECONDS = 5

_AWAY = (
    OSError,  # connection refused, reset, unreachable host
    TimeoutError,
    PostgresConnectionError,  # cannot connect now, too many connections
    PoolTimeoutError,  # every connection of the pool in use for too long
    RedisConnectionError,
    RedisTimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """Whether `error`, or what caused it, says a database or broker did not answer."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _AWAY):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True  # SQLite's writer lock held past the busy timeout
        original = getattr(current, "orig", None)
        if isinstance(original, BaseException) and id(original) not in seen:
            current = original
            continue
        current = current.__cause__ or current.__context__
    return False
