"""The credential event stream of one subscription: the log's events after the client's
cursor first, then live ones, without a gap or a duplicate between the two."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Collection
from contextlib import aclosing
from dataclasses import replace
from datetime import timedelta

from strawberry import Info

from models.event import CredentialEventKind, select_last_event_id
from resolvers.context import RequestContext
from resolvers.errors import BadInputError, NotAuthenticatedError, PublicError
from resolvers.pagination import decode_cursor, encode_cursor
from server.auth import authenticate, token_from_connection_params
from server.event_hub import EventHub, SubscriberTooSlow, Subscription, TokenRevoked
from services.credentials.policy import can_view_holder
from services.events import EventFilter, EventSnapshot
from services.viewer import Viewer

_CURSOR_TAG = "event"


class SubscriberTooSlowError(PublicError):
    code = "SUBSCRIBER_TOO_SLOW"

    def __init__(self, resume_after: str | None) -> None:
        super().__init__(
            "This subscription fell too far behind the events and was ended; subscribe "
            "again with `after` set to the last cursor you received to resume from there."
        )
        self.extensions = {**(self.extensions or {}), "resumeAfter": resume_after}


class EventsUnavailableError(PublicError):
    code = "UNAVAILABLE"


def event_cursor(event_id: int) -> str:
    return encode_cursor([_CURSOR_TAG, event_id])


def event_id_of(cursor: str) -> int:
    """The event id in a credential-events cursor; BadInputError for any other cursor."""
    return _event_id(cursor)


def _event_id(cursor: str) -> int:
    tag, event_id = decode_cursor(cursor, (str, int))
    if tag != _CURSOR_TAG:
        raise BadInputError(f"'after' cursor {cursor!r} is not a cursor of credential events")
    return int(event_id)


async def resolve_event_head(info: Info[RequestContext, None]) -> str:
    """The cursor of the organization's newest event now."""
    async with info.context.read() as session:
        return event_cursor(int(await session.scalar(select_last_event_id()) or 0))


async def stream_events(
    info: Info[RequestContext, None],
    kinds: Collection[CredentialEventKind] | None,
    holder_id: int | None,
    type_id: int | None,
    after: str | None,
) -> AsyncIterator[EventSnapshot]:
    context = info.context
    hub = context.events
    if hub is None:
        raise EventsUnavailableError("Events are not available on this connection.")
    start = _event_id(after) if after is not None else None
    viewer = await _reauthenticated(context)
    subscription = await hub.subscribe(
        viewer.organization_id, EventFilter.of(viewer, kinds, holder_id, type_id)
    )
    checked_at = context.now()
    delivered: str | None = after

    async def deliverable(snapshot: EventSnapshot) -> bool:
        """Whether to send it; on the way, the viewer is re-read every recheck period, so
        a revoked token or changed permissions take effect without a reconnection."""
        nonlocal checked_at
        period = timedelta(seconds=context.settings.subscription_auth_recheck_s)
        if context.now() - checked_at >= period:
            subscription.filter = replace(
                subscription.filter, viewer=await _reauthenticated(context)
            )
            checked_at = context.now()
        return subscription.filter.accepts(snapshot)

    async def in_order() -> AsyncGenerator[EventSnapshot, None]:
        """The log from the start position until it has nothing newer, then the queue:
        whatever commits meanwhile is in both, and skipped in the queue once sent."""
        position = start if start is not None else subscription.started_after
        while True:
            async for snapshot in _replay(hub, subscription, position):
                position = snapshot.id
                yield snapshot
            if not subscription.overflowed:
                break
            subscription.forget_overflow()  # fell behind while replaying: read on from the log
        hub.went_live(subscription)
        while True:
            try:
                snapshot = await subscription.next()
            except SubscriberTooSlow:
                if context.metrics is not None:
                    context.metrics.slow_subscribers.inc()
                raise SubscriberTooSlowError(delivered) from None
            except TokenRevoked:
                raise _revoked() from None
            if snapshot.id > position:
                position = snapshot.id
                yield snapshot

    try:
        async with aclosing(in_order()) as candidates:
            async for snapshot in candidates:
                if not await deliverable(snapshot):
                    continue
                _prime(info, snapshot)
                if context.metrics is not None:
                    context.metrics.events_delivered.labels(snapshot.event.kind.value).inc()
                delivered = event_cursor(snapshot.id)
                yield snapshot
    finally:
        hub.unsubscribe(subscription)


def _revoked() -> NotAuthenticatedError:
    return NotAuthenticatedError(
        "This connection's token was revoked or its user deactivated: connect again with "
        "a valid token."
    )


async def _reauthenticated(context: RequestContext) -> Viewer:
    """The viewer as the connection's token stands for it now."""
    token = token_from_connection_params(context.connection_params or {})
    viewer = await authenticate(context.database, token, context.clock)
    if viewer is None:
        raise _revoked()
    context.viewer = viewer
    return viewer


async def _replay(
    hub: EventHub, subscription: Subscription, after_id: int
) -> AsyncIterator[EventSnapshot]:
    while True:
        batch = await hub.read(subscription.organization_id, after_id)
        if not batch:
            return
        for snapshot in batch:
            yield snapshot
        after_id = batch[-1].id


def _prime(info: Info[RequestContext, None], snapshot: EventSnapshot) -> None:
    """Fresh loaders for each event, primed with what the hub loaded once for every
    subscriber, within what this viewer may see: resolving the event's fields costs no
    query per subscriber for the usual selections."""
    context = info.context
    viewer = context.require_viewer()
    context.reset_loaders()
    loaders = context.loaders
    for user in (snapshot.holder, snapshot.actor):
        if user is not None:
            loaders.user_by_id.prime(user.id, user if can_view_holder(viewer, user) else None)
    if snapshot.credential_type is not None:
        credential_type = snapshot.credential_type
        loaders.credentials.type_by_id.prime(credential_type.id, credential_type)
    credential = snapshot.credential
    if credential is not None:
        # The event was accepted, so its holder, and with it the credential, is visible.
        loaders.credentials.credential_by_id.prime(credential.id, credential)
        loaders.credentials.versions_by_credential_id.prime(credential.id, snapshot.versions)
        latest = snapshot.versions[0] if snapshot.versions else None  # newest first
        loaders.credentials.latest_version_by_credential_id.prime(credential.id, latest)
        for version in snapshot.versions:
            loaders.credentials.version_by_id.prime(version.id, version)
