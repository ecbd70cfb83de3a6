"""The GraphQL endpoint: Strawberry's ASGI view with authentication and our context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
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
from server.metrics import Metrics
from server.ratelimit import CostBuckets
from server.request_id import request_id_of
from server.settings import Settings
from services.tokens import parse_bearer


def _unauthenticated() -> Response:
    error = NotAuthenticatedError()
    return JSONResponse(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="credentials-api"'},
    )


# Headers a cross-site HTML form cannot send: requiring one on multipart requests keeps
# file uploads from being a CSRF door (a form may post multipart/form-data anywhere).
PREFLIGHT_HEADERS = ("x-requested-with", "apollo-require-preflight", "graphql-preflight")


def _unpreflighted_multipart(request: Request) -> Response | None:
    """A 400 for a multipart request without a non-simple header; None for any other."""
    content_type = request.headers.get("content-type", "").strip().lower()
    if request.method != "POST" or not content_type.startswith("multipart/"):
        return None
    if any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
        return None
    message = (
        "Multipart requests (file uploads) need a non-empty X-Requested-With, "
        "Apollo-Require-Preflight or GraphQL-Preflight header."
    )
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]},
        status_code=400,
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
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,  # queries only: Strawberry refuses mutations over GET
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(milliseconds=settings.ws_init_timeout_ms),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
            multipart_uploads_enabled=True,  # only with a preflight header: see __call__
        )
        self.database = database
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.rate_limiter = rate_limiter
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            refused = _unpreflighted_multipart(request)
            if refused is not None:
                await refused(scope, receive, send)
                return
            if not (self.graphql_ide and _asks_for_ide(request)):
                token = parse_bearer(request.headers.get("authorization"))
                viewer = await authenticate(self.database, token, self.clock)
                if viewer is None:
                    await _unauthenticated()(scope, receive, send)
                    return
                scope.setdefault("state", {})["viewer"] = viewer
        await super().__call__(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
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
        )

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        token = token_from_connection_params(context.connection_params or {})
        viewer = await authenticate(self.database, token, self.clock)
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        return await super().on_ws_connect(context)
