"""Webhook state for the authorization matrix: an endpoint made through the service (as
the API does) with one queued ping, and its rows read straight back from the tables."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from models import Base, Permission
from models.base import utcnow
from models.delivery import Delivery
from models.event import CredentialEventKind
from models.tenancy import scoped_to, unscoped
from models.webhook import WebhookEndpoint
from server.database import Database
from server.settings import Settings
from server.webhooks import secret_box, target_policy
from services.delivery.webhook import endpoints
from services.delivery.webhook.targets import system_resolver
from services.viewer import Viewer
from tests.world import World

HOOK_URL = "http://127.0.0.1:9/hook"  # never posted to: nothing here runs a worker
NEW_HOOK_URL = "http://127.0.0.1:9/new-hook"
WEBHOOK_TABLES = ("webhook_endpoints", "deliveries", "webhook_attempts")


def allowing_loopback(settings: Settings) -> Settings:
    return replace(settings, webhook_allow_private_targets=True)


@dataclass(frozen=True)
class SeededEndpoint:
    endpoint_id: int
    ping_id: int  # the ping queued to it: what redeliverWebhook sends again


async def seed_endpoint(
    database: Database, settings: Settings, world: World, *, paused: bool = False
) -> SeededEndpoint:
    """North's endpoint for every event kind, made after the events already logged (so
    that a replay from the start has something to queue), with one ping queued."""
    viewer = Viewer(
        user_id=world.user_ids["credentials_manager"],
        organization_id=world.north_id,
        token_id=world.token_ids["credentials_manager"],
        permissions=frozenset({Permission.CREDENTIALS_MANAGE}),
        company_id=None,
        managed_company_ids=frozenset(),
        key_contact_company_ids=frozenset(),
    )
    tools = endpoints.WebhookTools(target_policy(settings), system_resolver, secret_box(settings))
    now = utcnow()
    async with database.transaction(scoped_to(world.north_id)) as session:
        changes = endpoints.EndpointChanges(url=HOOK_URL, event_kinds=list(CredentialEventKind))
        created = await endpoints.create_endpoint(session, viewer, changes, tools, now)
        endpoint_id = created.endpoint.id
        ping = await endpoints.ping(session, viewer, endpoint_id, now)
        if paused:
            await endpoints.set_paused(session, viewer, endpoint_id, True, now)
    return SeededEndpoint(endpoint_id, ping.id)


async def webhook_rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the webhook tables, in key order: a refused call changes none."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with database.read(unscoped()) as session:
        for name in WEBHOOK_TABLES:
            table = Base.metadata.tables[name]
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            rows[name] = [tuple(row) for row in result]
    return rows


async def endpoints_of(database: Database, organization_id: int) -> list[WebhookEndpoint]:
    async with database.read(unscoped()) as session:
        found = await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == organization_id)
            .order_by(WebhookEndpoint.id)
        )
        return list(found)


async def endpoint_of(database: Database, endpoint_id: int) -> WebhookEndpoint | None:
    async with database.read(unscoped()) as session:
        return await session.get(WebhookEndpoint, endpoint_id)


async def deliveries_to(database: Database, endpoint_id: int) -> list[Delivery]:
    async with database.read(unscoped()) as session:
        found = await session.scalars(
            select(Delivery)
            .where(Delivery.webhook_endpoint_id == endpoint_id)
            .order_by(Delivery.id)
        )
        return list(found)
