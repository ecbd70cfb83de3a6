"""Webhook endpoints over the API (CREDENTIALS_MANAGE): the endpoints, their delivery
log with every attempt, and the mutations that manage, test, redeliver and replay."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from models.delivery import Delivery
from models.event import CredentialEventKind
from models.webhook import WebhookAttempt, WebhookEndpoint, WebhookEndpointStatus
from resolvers.context import RequestContext
from resolvers.events import event_cursor, event_id_of
from resolvers.mutations import Outcome, run_mutation
from resolvers.pagination import DEFAULT_PAGE_SIZE
from resolvers.webhooks import resolve_endpoints, resolve_webhook_deliveries, webhook_tools
from schema.deliveries import DeliveryKindEnum, DeliveryStatusEnum
from schema.events import CredentialEventKindEnum
from schema.ids import key_of
from schema.pagination import Connection
from services.delivery.links import relay_global_id
from services.delivery.webhook import endpoints
from services.delivery.webhook.channel import webhook_id_of
from services.delivery.webhook.errors import WebhookErrorCode
from services.errors import DomainError

WebhookErrorCodeEnum = strawberry.enum(
    WebhookErrorCode, name="WebhookErrorCode", description="Why a webhook mutation was refused."
)
WebhookEndpointStatusEnum = strawberry.enum(
    WebhookEndpointStatus,
    name="WebhookEndpointStatus",
    description="ACTIVE; PAUSED by a person (events wait and go once resumed); DISABLED by "
    "the service after failing for days (resume it once the receiver works).",
)


@strawberry.type
class WebhookError:
    code: WebhookErrorCodeEnum  # type: ignore[valid-type]
    field: str | None
    message: str

    @classmethod
    def many(cls, errors: list[DomainError]) -> list[WebhookError]:
        return [cls(code=e.code, field=e.field, message=e.message) for e in errors]

    @classmethod
    def not_found(cls, field: str = "id", what: str = "Webhook endpoint") -> WebhookError:
        return cls(code=WebhookErrorCode.NOT_FOUND, field=field, message=f"{what} doesn't exist.")


def _global_ids(type_name: str, keys: list[int]) -> list[strawberry.ID]:
    return [strawberry.ID(relay_global_id(type_name, key)) for key in keys]


@strawberry.type
class WebhookHeader:
    name: str
    value: str


@strawberry.type
class WebhookEndpointType:
    id: strawberry.ID
    url: str
    description: str
    event_kinds: list[CredentialEventKindEnum]  # type: ignore[valid-type]
    type_ids: list[strawberry.ID] = strawberry.field(description="Empty: every type.")
    company_ids: list[strawberry.ID] = strawberry.field(description="Empty: every company.")
    status: WebhookEndpointStatusEnum  # type: ignore[valid-type]
    disabled_reason: str | None
    failing_since: datetime | None = strawberry.field(
        description="Since when every attempt has failed; null after a success."
    )
    previous_secret_until: datetime | None = strawberry.field(
        description="After a rotation: until when the previous secret signs too."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, endpoint: WebhookEndpoint) -> WebhookEndpointType:
        return cls(
            id=strawberry.ID(relay_global_id("WebhookEndpoint", endpoint.id)),
            url=endpoint.url,
            description=endpoint.description,
            event_kinds=[CredentialEventKind(k) for k in endpoint.event_kinds],
            type_ids=[
                strawberry.ID(relay_global_id("CredentialType", i)) for i in endpoint.type_ids
            ],
            company_ids=[
                strawberry.ID(relay_global_id("Company", i)) for i in endpoint.company_ids
            ],
            status=endpoint.status,
            disabled_reason=endpoint.disabled_reason,
            failing_since=endpoint.failing_since,
            previous_secret_until=endpoint.previous_secret_until,
            created_at=endpoint.created_at,
        )


@strawberry.type
class WebhookAttemptType:
    attempted_at: datetime
    url: str
    request_headers: list[WebhookHeader] = strawberry.field(
        description="As sent, the signature included."
    )
    request_body: str
    response_status: int | None
    response_body: str | None = strawberry.field(description="Its first kilobyte.")
    duration_ms: int
    error: str | None

    @classmethod
    def from_model(cls, attempt: WebhookAttempt) -> WebhookAttemptType:
        return cls(
            attempted_at=attempt.attempted_at,
            url=attempt.url,
            request_headers=[
                WebhookHeader(name=k, value=v) for k, v in attempt.request_headers.items()
            ],
            request_body=attempt.request_body,
            response_status=attempt.response_status,
            response_body=attempt.response_body,
            duration_ms=attempt.duration_ms,
            error=attempt.error,
        )


@strawberry.type
class WebhookDeliveryType:
    id: strawberry.ID
    webhook_id: str = strawberry.field(description="The webhook-id header: the event's id.")
    kind: DeliveryKindEnum  # type: ignore[valid-type]
    event_cursor: str | None = strawberry.field(description="The event's cursor; null: ping.")
    status: DeliveryStatusEnum  # type: ignore[valid-type]
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    attempt_log: list[WebhookAttemptType] = strawberry.field(description="Oldest first.")

    @classmethod
    def of(cls, delivery: Delivery, attempts: list[WebhookAttempt]) -> WebhookDeliveryType:
        pending = delivery.status.value == "PENDING"
        return cls(
            id=strawberry.ID(relay_global_id("WebhookDelivery", delivery.id)),
            webhook_id=webhook_id_of(delivery),
            kind=delivery.kind,
            event_cursor=event_cursor(delivery.event_id) if delivery.event_id else None,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            sent_at=delivery.sent_at,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            attempt_log=[WebhookAttemptType.from_model(a) for a in attempts],
        )


@strawberry.input
class WebhookDeliveryFilterInput:
    status: DeliveryStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The organization's webhook endpoints (CREDENTIALS_MANAGE).")
    async def webhook_endpoints(
        self, info: Info[RequestContext, None]
    ) -> list[WebhookEndpointType]:
        return [WebhookEndpointType.from_model(e) for e in await resolve_endpoints(info)]

    @strawberry.field(
        description="An endpoint's deliveries, newest first, each with its attempts "
        "(CREDENTIALS_MANAGE)."
    )
    async def webhook_deliveries(
        self,
        info: Info[RequestContext, None],
        endpoint_id: strawberry.ID,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: WebhookDeliveryFilterInput | None = None,
    ) -> Connection[WebhookDeliveryType]:
        status = (filter or WebhookDeliveryFilterInput()).status
        page, attempts = await resolve_webhook_deliveries(
            info, key_of(endpoint_id, "WebhookEndpoint"), status, first, after
        )
        return Connection.from_page(page, lambda d: WebhookDeliveryType.of(d, attempts[d.id]))


@strawberry.input
class CreateWebhookEndpointInput:
    url: str
    description: str = ""
    event_kinds: list[CredentialEventKindEnum]  # type: ignore[valid-type]
    type_ids: list[strawberry.ID] | None = None
    company_ids: list[strawberry.ID] | None = None


@strawberry.input(description="Fields left out (or null) keep their values.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    description: str | None = None
    event_kinds: list[CredentialEventKindEnum] | None = None  # type: ignore[valid-type]
    type_ids: list[strawberry.ID] | None = None
    company_ids: list[strawberry.ID] | None = None


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpointType | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret: shown here once, never again."
    )
    errors: list[WebhookError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWebhookEndpointPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[WebhookError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDeliveryType | None = None
    errors: list[WebhookError] = strawberry.field(default_factory=list)


@strawberry.type
class ReplayWebhookPayload:
    queued: int = 0
    until: str | None = strawberry.field(
        default=None, description="The cursor of the last event looked at."
    )
    complete: bool = strawberry.field(
        default=False, description="False: replay again after `until` for the rest."
    )
    errors: list[WebhookError] = strawberry.field(default_factory=list)


def _ids(values: list[strawberry.ID] | None, type_name: str) -> list[int | None] | None:
    return None if values is None else [key_of(v, type_name) for v in values]


def _endpoint_payload(outcome: Outcome[WebhookEndpoint]) -> WebhookEndpointPayload:
    if outcome.value is None:
        return WebhookEndpointPayload(errors=WebhookError.many(outcome.errors))
    return WebhookEndpointPayload(endpoint=WebhookEndpointType.from_model(outcome.value))


def _with_secret(outcome: Outcome[endpoints.WithSecret]) -> WebhookEndpointPayload:
    if outcome.value is None:
        return WebhookEndpointPayload(errors=WebhookError.many(outcome.errors))
    return WebhookEndpointPayload(
        endpoint=WebhookEndpointType.from_model(outcome.value.endpoint),
        secret=outcome.value.secret,
    )


def _delivery_payload(outcome: Outcome[Delivery]) -> WebhookDeliveryPayload:
    if outcome.value is None:
        return WebhookDeliveryPayload(errors=WebhookError.many(outcome.errors))
    return WebhookDeliveryPayload(delivery=WebhookDeliveryType.of(outcome.value, []))


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="A webhook endpoint, posted the chosen events from now on; the "
        "payload's `secret` is shown this once (CREDENTIALS_MANAGE)."
    )
    async def create_webhook_endpoint(
        self, info: Info[RequestContext, None], input: CreateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        changes = endpoints.EndpointChanges(
            url=input.url,
            description=input.description,
            event_kinds=input.event_kinds,
            type_ids=_ids(input.type_ids, "CredentialType"),
            company_ids=_ids(input.company_ids, "Company"),
        )
        tools = webhook_tools(info.context)
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.create_endpoint(s, viewer, changes, tools, now)
        )
        return _with_secret(outcome)

    @strawberry.mutation(description="Change an endpoint (CREDENTIALS_MANAGE).")
    async def update_webhook_endpoint(
        self, info: Info[RequestContext, None], input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        endpoint_id = key_of(input.id, "WebhookEndpoint")
        changes = endpoints.EndpointChanges(
            url=input.url,
            description=input.description,
            event_kinds=input.event_kinds,
            type_ids=_ids(input.type_ids, "CredentialType"),
            company_ids=_ids(input.company_ids, "Company"),
        )
        tools = webhook_tools(info.context)
        outcome = await run_mutation(
            info,
            lambda s, viewer, now: endpoints.update_endpoint(
                s, viewer, endpoint_id, changes, tools, now
            ),
        )
        return _endpoint_payload(outcome)

    @strawberry.mutation(
        description="Delete an endpoint with its delivery log (CREDENTIALS_MANAGE)."
    )
    async def delete_webhook_endpoint(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> DeleteWebhookEndpointPayload:
        endpoint_id = key_of(id, "WebhookEndpoint")
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.delete_endpoint(s, viewer, endpoint_id)
        )
        if outcome.errors:
            return DeleteWebhookEndpointPayload(errors=WebhookError.many(outcome.errors))
        return DeleteWebhookEndpointPayload(deleted_id=id)

    @strawberry.mutation(
        description="A new signing secret, shown this once; the previous one keeps "
        "signing beside it for 24 hours (both signatures are sent) (CREDENTIALS_MANAGE)."
    )
    async def rotate_webhook_secret(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> WebhookEndpointPayload:
        endpoint_id = key_of(id, "WebhookEndpoint")
        tools = webhook_tools(info.context)
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.rotate_secret(s, viewer, endpoint_id, tools, now)
        )
        return _with_secret(outcome)

    @strawberry.mutation(
        description="Hold an endpoint's deliveries; they go once resumed (CREDENTIALS_MANAGE)."
    )
    async def pause_webhook_endpoint(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> WebhookEndpointPayload:
        endpoint_id = key_of(id, "WebhookEndpoint")
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.set_paused(s, viewer, endpoint_id, True, now)
        )
        return _endpoint_payload(outcome)

    @strawberry.mutation(
        description="Deliver to a paused or disabled endpoint again (CREDENTIALS_MANAGE)."
    )
    async def resume_webhook_endpoint(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> WebhookEndpointPayload:
        endpoint_id = key_of(id, "WebhookEndpoint")
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.set_paused(s, viewer, endpoint_id, False, now)
        )
        return _endpoint_payload(outcome)

    @strawberry.mutation(
        description="Queue a test ping (type webhook.ping) to an endpoint (CREDENTIALS_MANAGE)."
    )
    async def ping_webhook_endpoint(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> WebhookDeliveryPayload:
        endpoint_id = key_of(id, "WebhookEndpoint")
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.ping(s, viewer, endpoint_id, now)
        )
        return _delivery_payload(outcome)

    @strawberry.mutation(
        description="Send a delivery again, with the same webhook-id and body (CREDENTIALS_MANAGE)."
    )
    async def redeliver_webhook(
        self, info: Info[RequestContext, None], delivery_id: strawberry.ID
    ) -> WebhookDeliveryPayload:
        key = key_of(delivery_id, "WebhookDelivery")
        outcome = await run_mutation(
            info, lambda s, viewer, now: endpoints.redeliver(s, viewer, key, now)
        )
        return _delivery_payload(outcome)

    @strawberry.mutation(
        description="Send again, from the event log, every event after a cursor that the "
        "endpoint's filters choose, in order (CREDENTIALS_MANAGE)."
    )
    async def replay_webhook_endpoint(
        self, info: Info[RequestContext, None], id: strawberry.ID, after: str
    ) -> ReplayWebhookPayload:
        endpoint_id = key_of(id, "WebhookEndpoint")
        after_id = event_id_of(after)
        outcome = await run_mutation(
            info,
            lambda s, viewer, now: endpoints.replay(s, viewer, endpoint_id, after_id, now),
        )
        if outcome.value is None:
            return ReplayWebhookPayload(errors=WebhookError.many(outcome.errors))
        replay = outcome.value
        return ReplayWebhookPayload(
            queued=replay.queued,
            until=event_cursor(replay.until_event_id),
            complete=replay.complete,
        )
