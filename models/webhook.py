"""Webhook endpoints: where an organization's credential events are posted, and the log
of every attempt to post one.

An endpoint's `cursor` is the last event id the fan-out has queued for it: deliveries are
made from the event log after commit, per endpoint, so writers of events pay nothing for
webhooks and a replay is a move of the cursor's reading, not a second mechanism.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    Select,
    String,
    Text,
    Update,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from models.base import Base, TenantOwned, utcnow
from models.company import Company
from models.credential_type import CredentialType
from models.delivery import Delivery, DeliveryChannel, DeliveryStatus
from models.event import CredentialEvent
from models.permission import PermissionSet
from models.user import User


class WebhookEndpointStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"  # by a person: events queue up and go once resumed
    DISABLED = "DISABLED"  # by the service, after failing for days; resumed by a person


class WebhookEndpoint(TenantOwned, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    # CredentialEventKind values; type and company ids narrow them (empty: all).
    event_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    type_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    company_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The signing secret, sealed (services.delivery.webhook.secrets); never in a log.
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # After a rotation, the previous secret signs too until then.
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None]
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        Enum(WebhookEndpointStatus, native_enum=False, length=20),
        default=WebhookEndpointStatus.ACTIVE,
    )
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    cursor: Mapped[int] = mapped_column(default=0)
    # Since when every attempt has failed (null after a success): days of it disable it.
    failing_since: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def wants(self, event: CredentialEvent, company_id: int | None) -> bool:
        if event.kind.value not in self.event_kinds:
            return False
        if self.type_ids and event.type_id not in self.type_ids:
            return False
        return not self.company_ids or company_id in self.company_ids


class WebhookAttempt(TenantOwned, Base):
    """One POST of a delivery: what was sent and what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    url: Mapped[str] = mapped_column(String(2000))
    request_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    request_body: Mapped[str] = mapped_column(Text)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # its first kilobyte
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)


def insert_attempt() -> Insert:
    return insert(WebhookAttempt.__table__)  # type: ignore[arg-type]


def select_endpoints(ids: Collection[int] | None = None) -> Select[WebhookEndpoint]:
    statement = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if ids is not None:
        statement = statement.where(WebhookEndpoint.id.in_(ids))
    return statement


def select_active_endpoints(lock: bool, skip_locked: bool) -> Select[WebhookEndpoint]:
    """Endpoints whose events are fanned out, locked for the fan-out when asked."""
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.status == WebhookEndpointStatus.ACTIVE
    )
    if lock:
        statement = statement.with_for_update(skip_locked=skip_locked)
    return statement.order_by(WebhookEndpoint.id)


def select_fanout_behind() -> Select[int, int, int]:
    """Per organization with active endpoints: the lowest cursor and the log's head
    (one read; a fan-out only begins where there is something to queue)."""
    head = (
        select(func.max(CredentialEvent.id))
        .where(CredentialEvent.organization_id == WebhookEndpoint.organization_id)
        .scalar_subquery()
    )
    return (
        select(WebhookEndpoint.organization_id, func.min(WebhookEndpoint.cursor), head)
        .where(WebhookEndpoint.status == WebhookEndpointStatus.ACTIVE)
        .group_by(WebhookEndpoint.organization_id)
    )


def select_lanes_due(now: datetime) -> Select[int | None]:
    """Active endpoints with a webhook delivery due now."""
    return (
        select(Delivery.webhook_endpoint_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.webhook_endpoint_id)
        .where(
            Delivery.channel == DeliveryChannel.WEBHOOK,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            WebhookEndpoint.status == WebhookEndpointStatus.ACTIVE,
        )
        .distinct()
    )


def update_endpoint(endpoint_id: int, **values: Any) -> Update:
    return update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(**values)


def select_webhook_deliveries_page(
    endpoint_id: int, status: DeliveryStatus | None, before_id: int | None, limit: int
) -> Select[Delivery]:
    """An endpoint's deliveries, newest first (the session's organization's only)."""
    statement = select(Delivery).where(Delivery.webhook_endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if before_id is not None:
        statement = statement.where(Delivery.id < before_id)
    return statement.order_by(Delivery.id.desc()).limit(limit)


def select_attempts_of(delivery_ids: Collection[int]) -> Select[WebhookAttempt]:
    return (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )


def select_webhook_delivery(delivery_id: int) -> Select[Delivery]:
    return select(Delivery).where(
        Delivery.id == delivery_id, Delivery.channel == DeliveryChannel.WEBHOOK
    )


def mark_failing(endpoint_id: int, now: datetime) -> Update:
    """The first failure after a success starts the clock of "failing since"."""
    return update_endpoint(endpoint_id, failing_since=now).where(
        WebhookEndpoint.failing_since.is_(None)
    )


def disable_if_failing_since(endpoint_id: int, before: datetime, reason: str) -> Update:
    """Disables an active endpoint that has failed every attempt since `before` or longer."""
    return update_endpoint(
        endpoint_id, status=WebhookEndpointStatus.DISABLED, disabled_reason=reason
    ).where(
        WebhookEndpoint.status == WebhookEndpointStatus.ACTIVE,
        WebhookEndpoint.failing_since <= before,
    )


def select_credential_managers() -> Select[User, list[str]]:
    """Active users with a permission set, and its permissions (the caller picks)."""
    return (
        select(User, PermissionSet.permissions)
        .join(PermissionSet, PermissionSet.id == User.permission_set_id)
        .where(User.is_active.is_(True))
    )


def select_company_ids(ids: Collection[int]) -> Select[int]:
    return select(Company.id).where(Company.id.in_(ids))


def select_type_ids(ids: Collection[int]) -> Select[int]:
    return select(CredentialType.id).where(CredentialType.id.in_(ids))
