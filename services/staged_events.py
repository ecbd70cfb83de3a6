"""Publishing staged events (models.event_queue) into the event log, a batch at a time.

Each batch is a short transaction that takes the organization's event-ordering lock,
moves the oldest staged events into the log (their ids are assigned there, under the
lock, so the log becomes visible in id order) and commits: another writer of the
organization waits for one batch at most, never for a whole import.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from models.event import prepare_event_writes
from models.event_queue import (
    publish_staged_events,
    select_has_staged_events,
    select_staged_organizations,
)
from models.tenancy import scoped_to, unscoped

logger = logging.getLogger("credentials.events")


class Sessions(Protocol):
    is_sqlite: bool

    def read(self, info: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]: ...

    def transaction(self, info: dict[str, Any]) -> AbstractAsyncContextManager[AsyncSession]: ...


# Events per transaction: about 20 ms of holding the lock on PostgreSQL.
PUBLISH_BATCH = 2_000


async def publish_staged(sessions: Sessions, organization_id: int) -> int:
    """Publishes every committed staged event of the organization; how many. Nothing is
    staged on SQLite (its writers are serialized: events go straight to the log)."""
    if sessions.is_sqlite:
        return 0
    scope = scoped_to(organization_id)
    parameters = {"organization_id": organization_id, "limit": PUBLISH_BATCH}
    async with sessions.read(scope) as session:
        if not await session.scalar(select_has_staged_events(), parameters):
            return 0  # the common case: no lock taken
    published = 0
    while True:
        async with sessions.transaction(scope) as session:
            await session.run_sync(prepare_event_writes, organization_id)
            moved = int(await session.scalar(publish_staged_events(), parameters) or 0)
        published += moved
        if moved < PUBLISH_BATCH:
            return published


async def publish_all_staged(sessions: Sessions) -> int:
    """At start-up: what a process stopped between an import's commit and the end of its
    publication left staged, of every organization."""
    if sessions.is_sqlite:
        return 0
    async with sessions.read(unscoped()) as session:
        organizations = list(await session.scalars(select_staged_organizations()))
    published = 0
    for organization_id in organizations:
        published += await publish_staged(sessions, organization_id)
    if published:
        logger.warning("published %d staged events an earlier process left", published)
    return published
