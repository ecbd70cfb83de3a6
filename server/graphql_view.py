"""The GraphQL endpoint: Strawberry's ASGI view with authentication and our context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from resolvers.context import RequestContext
from resolvers.errors import NotAuthenticatedError
from server.auth import authenticate, token_from_connection_params
from server.database import Database
from server.event_hub import EventHub
from server.graphiql import graphiql_page
from server.metrics import Metrics
from server.ratelimit import CostBuckets
from server.request_id import request_id_of
from server.settings import Settings
from server.uploads import (
    capped,
    csrf_refusal,
    declared_length,
    has_preflight_header,
    is_multipart,
    too_large,
)
from services.media.storage import MediaStore
from services.tokens import parse_bearer

_PARSED_REQUEST = "graphql_request"


def _unauthenticated() -> Response:
    error = NotAuthenticatedError()
    return JSONResponse(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="credentials-api"'},
    )


def _asks_for_ide(request: Request) -> bool:
    """The GraphiQL page itself needs no token; every operation does."""
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


class GraphQLEndpoint(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: Schema,
        database: Database,
        settings: Settings,
        clock: Callable[[], datetime],
        metrics: Metrics,
        rate_limiter: CostBuckets | None,
        events: EventHub | None = None,
        media_store: MediaStore | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,  # queries only: Strawberry refuses mutations over GET
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(milliseconds=settings.ws_init_timeout_ms),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
            # Files come as GraphQL multipart requests, accepted only with a header that
            # cross-site forms cannot send (checked in __call__).
            multipart_uploads_enabled=True,
        )
        self.database = database
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.rate_limiter = rate_limiter
        self.events = events
        self.media_store = media_store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            if is_multipart(request) and not has_preflight_header(request):
                await csrf_refusal()(scope, receive, send)
                return
            limit = self.settings.max_request_bytes
            length = declared_length(request)
            if length is not None and length > limit:
                await too_large(limit)(scope, receive, send)
                return
            receive = capped(receive, limit)
            if not (self.graphql_ide and _asks_for_ide(request)):
                token = parse_bearer(request.headers.get("authorization"))
                viewer = await authenticate(self.database, token, self.clock)
                if viewer is None:
                    await _unauthenticated()(scope, receive, send)
                    return
                scope.setdefault("state", {})["viewer"] = viewer
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Strawberry parses multipart bodies on a Request of its own and leaves the
            # uploaded files' temporary copies open: close them with the request.
            parsed = scope.get("state", {}).get(_PARSED_REQUEST)
            if isinstance(parsed, Request):
                await parsed.close()

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page (server/graphiql.py): the token prefilled in dev, every
        subscription over the WebSocket, and a plain message when its scripts fail."""
        return HTMLResponse(graphiql_page(self.settings))

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        """Strawberry's parsing, with a `map` that does not fit `operations` (not an
        object, a path into nothing) answered as the client's mistake, not a crash."""
        try:
            return await super().parse_multipart(request)
        except (AttributeError, TypeError, IndexError, KeyError, ValueError):
            raise HTTPException(
                400,
                "The multipart 'map' must be an object of file fields to lists of paths "
                "into 'operations' (GraphQL multipart request spec).",
            ) from None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        if isinstance(request, Request):
            request.scope.setdefault("state", {})[_PARSED_REQUEST] = request
        return RequestContext(
            request=request,
            response=response,
            database=self.database,
            settings=self.settings,
            request_id=request_id_of(request.scope),
            clock=self.clock,
            metrics=self.metrics,
            rate_limiter=self.rate_limiter,
            events=self.events,
            viewer=request.scope.get("state", {}).get("viewer"),
            media_store=self.media_store,
        )

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        token = token_from_connection_params(context.connection_params or {})
        viewer = await authenticate(self.database, token, self.clock)
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        return await super().on_ws_connect(context)
