"""Events staged by a long transaction, published into the event log after it commits.

A CSV import on PostgreSQL writes for minutes; if it took the organization's event-ordering
lock (models.event) for its first event, every other writer of the organization would wait
for its commit. Instead it stages its events here, in its own transaction (so they commit
or roll back with its rows, as an outbox must), and once it has committed they move to
`credential_events` in short transactions of their own, each holding the ordering lock for
one batch: their ids are assigned then, so the log still becomes visible in id order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, TextClause, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantOwned, utcnow


class StagedCredentialEvent(TenantOwned, Base):
    """A credential event not yet in the log; `id` keeps the order it was staged in."""

    __tablename__ = "credential_event_queue"
    __table_args__ = (
        Index("ix_credential_event_queue_organization_id_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    credential_id: Mapped[int]
    version_id: Mapped[int | None]
    holder_id: Mapped[int]
    type_id: Mapped[int]
    actor_id: Mapped[int | None]
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# Staged in bulk by models.credential_bulk_insert, from one array per column (PostgreSQL).
STAGE_EVENTS_POSTGRES = """
INSERT INTO credential_event_queue (organization_id, kind, credential_id, version_id,
    holder_id, type_id, actor_id, occurred_at, data)
SELECT $1::integer, e.kind, e.credential_id, e.version_id, e.holder_id, e.type_id,
    $2::integer, $3::timestamptz, '{}'::json
FROM unnest($4::text[], $5::integer[], $6::integer[], $7::integer[], $8::integer[])
    WITH ORDINALITY AS e(kind, credential_id, version_id, holder_id, type_id, n)
ORDER BY e.n
"""


def publish_staged_events() -> TextClause:
    """Moves the organization's oldest `limit` staged events into the log, in the order
    they were staged (the log's ids follow the SELECT's order); the events it moved.
    Run it holding the organization's ordering lock (models.event.prepare_event_writes)."""
    return text(
        """
        WITH moved AS (
            DELETE FROM credential_event_queue
            WHERE id IN (
                SELECT id FROM credential_event_queue
                WHERE organization_id = :organization_id
                ORDER BY id LIMIT :limit
            )
            RETURNING *
        ), published AS (
            INSERT INTO credential_events (organization_id, kind, credential_id, version_id,
                holder_id, type_id, actor_id, occurred_at, data)
            SELECT organization_id, kind, credential_id, version_id, holder_id, type_id,
                actor_id, occurred_at, data
            FROM moved ORDER BY id
            RETURNING 1
        )
        SELECT count(*) FROM published
        """
    )


def select_staged_organizations() -> TextClause:
    """Organizations with staged events (unscoped: start-up publishes what a crash left)."""
    return text("SELECT DISTINCT organization_id FROM credential_event_queue")


def select_has_staged_events() -> TextClause:
    return text(
        "SELECT EXISTS (SELECT 1 FROM credential_event_queue "
        "WHERE organization_id = :organization_id)"
    )
