"""The delivery outbox: what must reach people outside the service (email now, webhooks
later), written in the same transaction as its cause and sent by a worker.

A row is PENDING until a worker settles it as SENT, SKIPPED or FAILED. A worker claims
due rows by setting a lease (`claimed_until`) and moving `next_attempt_at` to the lease's
end: a row whose worker died becomes due again when the lease passes, so a crash repeats
at most the one send that was under way and loses none. "Due" is one range scan of the
index on (status, next_attempt_at).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    Update,
    event,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, aliased, mapped_column, relationship
from sqlalchemy.sql.dml import Insert

from models.base import Base, TenantOwned, utcnow
from models.credential_type import CredentialType
from models.notification import Notification
from models.user import User


class DeliveryChannel(StrEnum):
    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"


class DeliveryKind(StrEnum):
    """The notification kinds, and the digest that sums several up."""

    APPROVED = "APPROVED"
    RESUBMISSION_REQUESTED = "RESUBMISSION_REQUESTED"
    EXPIRING_SOON = "EXPIRING_SOON"
    EXPIRED = "EXPIRED"
    DIGEST = "DIGEST"
    # Emails of the service's own (a webhook endpoint turned off), rendered when queued.
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    # A credential event posted to a webhook endpoint, and an endpoint's test ping.
    WEBHOOK_EVENT = "WEBHOOK_EVENT"
    WEBHOOK_PING = "WEBHOOK_PING"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class Delivery(TenantOwned, Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # Idempotent queueing: a cause is queued once per channel.
        UniqueConstraint("channel", "dedupe_key"),
        # The worker's "due rows": one range scan.
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # The delivery log, newest first, of the organization or of one person.
        Index("ix_deliveries_organization_id_id", "organization_id", "id"),
        Index("ix_deliveries_recipient_user_id_id", "recipient_user_id", "id"),
        # A webhook lane's queue per credential: "is an earlier one still pending?", and
        # an endpoint's delivery log.
        Index(
            "ix_deliveries_webhook_lane",
            "webhook_endpoint_id",
            "credential_id",
            "status",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[DeliveryChannel] = mapped_column(
        Enum(DeliveryChannel, native_enum=False, length=20)
    )
    kind: Mapped[DeliveryKind] = mapped_column(Enum(DeliveryKind, native_enum=False, length=30))
    # Null for webhook deliveries, which go to an endpoint rather than a person.
    recipient_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    webhook_endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    # Webhooks: the event posted (null for a ping) and its credential (the ordering lane).
    event_id: Mapped[int | None]
    credential_id: Mapped[int | None]
    # Null for deliveries of their own (digests); the log outlives a removed notification.
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), index=True
    )
    # "notification:{id}", "digest:{user}:{period}": what makes queueing idempotent.
    dedupe_key: Mapped[str] = mapped_column(String(200))
    # Content rendered by whoever queued it (digests), sent as it is; null: rendered
    # from the notification at send time.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=20), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    recipient_address: Mapped[str | None] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    notification: Mapped[Notification | None] = relationship(lazy="raise")


def notification_dedupe_key(notification_id: int) -> str:
    return f"notification:{notification_id}"


@event.listens_for(Delivery, "before_insert")
def _key_by_notification(_: Mapper[Delivery], __: Connection, delivery: Delivery) -> None:
    """A delivery queued with its notification, before either has an id, is keyed by the
    notification's id, known here: the notification is inserted first (foreign key)."""
    if delivery.dedupe_key is None and delivery.notification_id is not None:
        delivery.dedupe_key = notification_dedupe_key(delivery.notification_id)


def insert_deliveries() -> Insert:
    """Many deliveries at once, each with a key of its own (a bulk write of new causes)."""
    return insert(Delivery.__table__)  # type: ignore[arg-type]


def insert_delivery(dialect_name: str, values: dict[str, Any]) -> Insert:
    """Queues a delivery unless one with its channel and key exists: queueing twice, or
    racing, leaves one row."""
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return (
        dialect_insert(Delivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
    )


def select_delivery_by_key(channel: DeliveryChannel, dedupe_key: str) -> Select[Delivery]:
    return select(Delivery).where(Delivery.channel == channel, Delivery.dedupe_key == dedupe_key)


def _due(
    statement: Select[Any], channel: DeliveryChannel, now: datetime, lane: int | None
) -> Select[Any]:
    statement = statement.where(
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.next_attempt_at <= now,
        Delivery.channel == channel,
    )
    if lane is None:
        return statement
    # One webhook endpoint's rows, each only once every earlier row of its credential
    # is settled: events of a credential reach the endpoint in their order, whichever
    # worker sends them.
    earlier = aliased(Delivery)
    return statement.where(
        Delivery.webhook_endpoint_id == lane,
        ~exists().where(
            earlier.webhook_endpoint_id == lane,
            earlier.credential_id == Delivery.credential_id,
            earlier.status == DeliveryStatus.PENDING,
            earlier.id < Delivery.id,
        ),
    )


def select_due(
    channel: DeliveryChannel,
    now: datetime,
    limit: int,
    skip_locked: bool,
    lane: int | None = None,
) -> Select[Delivery]:
    """PENDING rows of a channel (of one webhook endpoint: `lane`) whose time has come
    (their lease, if any, has passed), oldest first, locked until the transaction ends;
    with skip_locked, rows another worker is claiming are passed over (PostgreSQL;
    SQLite serializes writers)."""
    return (
        _due(select(Delivery), channel, now, lane)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=skip_locked, of=Delivery)
    )


def select_first_due(
    channel: DeliveryChannel, now: datetime, lane: int | None = None
) -> Select[int]:
    """Whether anything is due, read without a lock: an empty outbox costs no write
    transaction (on SQLite, the database's one write lock)."""
    return _due(select(Delivery.id), channel, now, lane).limit(1)


def settle(delivery_id: int, lease: datetime | None, **values: Any) -> Update:
    """Records an outcome of a PENDING row. With `lease`, only while the row is still
    under that claim: a worker whose lease passed (and whose rows another worker took)
    leaves them alone."""
    statement = update(Delivery).where(
        Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING
    )
    if lease is not None:
        statement = statement.where(Delivery.claimed_until == lease)
    return statement.values(**values)


@dataclass(frozen=True)
class DeliveryFilter:
    status: DeliveryStatus | None = None
    channel: DeliveryChannel | None = None
    kind: DeliveryKind | None = None
    recipient_user_id: int | None = None


def _filtered(
    statement: Select[Any], delivery_filter: DeliveryFilter, only_user_id: int | None
) -> Select[Any]:
    if only_user_id is not None:
        statement = statement.where(Delivery.recipient_user_id == only_user_id)
    if delivery_filter.recipient_user_id is not None:
        statement = statement.where(Delivery.recipient_user_id == delivery_filter.recipient_user_id)
    if delivery_filter.status is not None:
        statement = statement.where(Delivery.status == delivery_filter.status)
    if delivery_filter.channel is not None:
        statement = statement.where(Delivery.channel == delivery_filter.channel)
    if delivery_filter.kind is not None:
        statement = statement.where(Delivery.kind == delivery_filter.kind)
    return statement


def select_deliveries_page(
    delivery_filter: DeliveryFilter, only_user_id: int | None, before_id: int | None, limit: int
) -> Select[Delivery]:
    """The session's organization's deliveries (or one person's), newest first."""
    statement = _filtered(select(Delivery), delivery_filter, only_user_id)
    if before_id is not None:
        statement = statement.where(Delivery.id < before_id)
    return statement.order_by(Delivery.id.desc()).limit(limit)


def count_deliveries(delivery_filter: DeliveryFilter, only_user_id: int | None) -> Select[int]:
    return _filtered(select(func.count(Delivery.id)), delivery_filter, only_user_id)


def select_deliveries_by_id(ids: Collection[int]) -> Select[Delivery]:
    return select(Delivery).where(Delivery.id.in_(ids))


def select_queue_depth() -> Select[DeliveryChannel, int, datetime | None]:
    """Per channel: how many rows are PENDING, and the oldest one's creation time."""
    return (
        select(Delivery.channel, func.count(Delivery.id), func.min(Delivery.created_at))
        .where(Delivery.status == DeliveryStatus.PENDING)
        .group_by(Delivery.channel)
    )


def select_recipients(user_ids: Collection[int]) -> Select[User]:
    return select(User).where(User.id.in_(user_ids))


def select_notifications_with_type_name(
    notification_ids: Collection[int],
) -> Select[Notification, str | None]:
    """Notifications with their credential type's name (null once the type is gone)."""
    return (
        select(Notification, CredentialType.name)
        .outerjoin(CredentialType, CredentialType.id == Notification.type_id)
        .where(Notification.id.in_(notification_ids))
    )


def insert_deliveries_once(dialect_name: str) -> Insert:
    """Many deliveries, each queued unless its (channel, key) exists (executemany)."""
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return dialect_insert(Delivery.__table__).on_conflict_do_nothing(  # type: ignore[arg-type]
        index_elements=["channel", "dedupe_key"]
    )
