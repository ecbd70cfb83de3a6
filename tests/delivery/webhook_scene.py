"""Webhook endpoints in the delivery scene: made through the service (as the API does),
and workers that may post to loopback (WEBHOOK_ALLOW_PRIVATE_TARGETS, as in tests)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from models.base import utcnow
from models.event import CredentialEventKind
from models.permission import Permission
from models.tenancy import scoped_to, unscoped
from models.webhook import WebhookAttempt, WebhookEndpoint
from server.delivery_worker import DeliveryWorker
from server.webhooks import secret_box, target_policy
from services.delivery import PassResult
from services.delivery.webhook import endpoints
from services.delivery.webhook.targets import Resolver, system_resolver
from services.viewer import Viewer
from tests.delivery.scene import Scene

ALL_KINDS = list(CredentialEventKind)


def private_ok(scene: Scene, **settings: Any) -> Any:
    return replace(scene.settings, **{"webhook_allow_private_targets": True, **settings})


def tools(scene: Scene) -> endpoints.WebhookTools:
    settings = private_ok(scene)
    return endpoints.WebhookTools(target_policy(settings), system_resolver, secret_box(settings))


async def manager(scene: Scene) -> Viewer:
    return Viewer(
        user_id=scene.world.user_ids["credentials_manager"],
        organization_id=scene.world.north_id,
        token_id=0,
        permissions=frozenset({Permission.CREDENTIALS_MANAGE}),
        company_id=None,
        managed_company_ids=frozenset(),
        key_contact_company_ids=frozenset(),
    )


async def create_endpoint(
    scene: Scene, url: str, kinds: list[CredentialEventKind] | None = None, **changes: Any
) -> endpoints.WithSecret:
    viewer = await manager(scene)
    async with scene.database.transaction(scoped_to(viewer.organization_id)) as session:
        return await endpoints.create_endpoint(
            session,
            viewer,
            endpoints.EndpointChanges(url=url, event_kinds=kinds or ALL_KINDS, **changes),
            tools(scene),
            scene.clock(),
        )


def webhook_worker(
    scene: Scene, resolver: Resolver | None = None, **settings: Any
) -> DeliveryWorker:
    return DeliveryWorker(
        scene.database, private_ok(scene, **settings), scene.clock, resolver=resolver
    )


async def deliver(scene: Scene, **settings: Any) -> PassResult:
    return await webhook_worker(scene, **settings).run_pass()


async def attempts(scene: Scene) -> list[WebhookAttempt]:
    async with scene.database.read(unscoped()) as session:
        return list(await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


async def endpoint_row(scene: Scene, endpoint_id: int) -> WebhookEndpoint:
    async with scene.database.read(unscoped()) as session:
        found = await session.get(WebhookEndpoint, endpoint_id)
        assert found is not None
        return found


def real_time(scene: Scene) -> None:
    """Receivers check webhook-timestamp against their own clock (5 minutes' tolerance)."""
    scene.clock.now = utcnow()
