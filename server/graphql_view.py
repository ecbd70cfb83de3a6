"""The GraphQL endpoint: Strawberry's ASGI view with authentication and our context."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from resolvers.context import RequestContext
from resolvers.errors import NotAuthenticatedError
from server.auth import authenticate, token_from_connection_params
from server.database import Database
from server.event_hub import EventHub
from server.graphiql import graphiql_page
from server.graphql_status import http_answer
from server.http_errors import (
    GRAPHQL_RESPONSE,
    JSON,
    code_for_status,
    error_response,
    unavailable,
)
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
from services.availability import is_outage
from services.media.storage import MediaStore
from services.tokens import parse_bearer

_PARSED_REQUEST = "graphql_request"
_SUB_RESPONSE = "graphql_sub_response"
logger = logging.getLogger("credentials.errors")


def _unauthenticated(media_type: str) -> Response:
    error = NotAuthenticatedError()
    return JSONResponse(
        {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="credentials-api"'},
        media_type=media_type,
    )


class _Refusal(HTTPException):
    """A request refused before any GraphQL runs, with its code and headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, message)
        self.code = code
        self.headers = headers or {}


def _answer_media_type(request: Request) -> str:
    """GraphQL over HTTP: the newer media type to clients that ask for it."""
    accepted = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accepted else JSON


# Subscriptions only over the WebSocket (no SSE or multipart transport is offered here);
# mutations never over GET.
_HTTP_OPERATIONS = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}


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
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        finally:
            # Strawberry parses multipart bodies on a Request of its own and leaves the
            # uploaded files' temporary copies open: close them with the request.
            parsed = scope.get("state", {}).get(_PARSED_REQUEST)
            if isinstance(parsed, Request):
                await parsed.close()
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        """The answer to an HTTP request: Strawberry's, with every refusal in the error
        shape of the rest of the API."""
        media_type = _answer_media_type(request)
        try:
            return await self._run_http(request, media_type)
        except _Refusal as refusal:
            return error_response(
                refusal.status_code, refusal.code, refusal.reason, refusal.headers, media_type
            )
        except HTTPException as error:  # Strawberry's own refusals
            status = error.status_code
            return error_response(status, code_for_status(status), error.reason, None, media_type)
        except StarletteHTTPException as error:  # the body cap
            status = error.status_code
            return error_response(status, code_for_status(status), error.detail, None, media_type)

    async def _run_http(self, request: Request, media_type: str) -> Response:
        if is_multipart(request) and not has_preflight_header(request):
            return csrf_refusal()
            # Files come only in multipart requests; anything else is a small JSON body.
        limit = (
            self.settings.max_request_bytes
            if is_multipart(request)
            else self.settings.max_json_body_bytes
        )
        length = declared_length(request)
        if length is not None and length > limit:
            return too_large(limit)
        request = Request(request.scope, capped(request.receive, limit))
        if not (self.graphql_ide and _asks_for_ide(request)):
            token = parse_bearer(request.headers.get("authorization"))
            try:
                viewer = await authenticate(self.database, token, self.clock)
            except Exception as error:
                if not is_outage(error):
                    raise
                logger.warning("service unavailable while authenticating: %r", error)
                return unavailable(media_type)
            if viewer is None:
                return _unauthenticated(media_type)
            request.scope.setdefault("state", {})["viewer"] = viewer
        return await self.run(request)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, allowing only what HTTP may carry here, and saying so typed."""
        method = request_adapter.method
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=_HTTP_OPERATIONS.get(method, frozenset()),
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.MUTATION:
                raise _Refusal(
                    405,
                    "METHOD_NOT_ALLOWED",
                    "mutations are not allowed when using GET: send them with POST.",
                    {"Allow": "POST"},
                ) from None
            raise _Refusal(
                400,
                "BAD_REQUEST",
                "Subscriptions run over the WebSocket at this address "
                "(graphql-transport-ws), not over HTTP.",
            ) from None
        except CannotGetOperationTypeError as error:
            raise _Refusal(400, "BAD_REQUEST", error.as_http_error_reason()) from None
        except MissingQueryError:
            raise _Refusal(400, "BAD_REQUEST", "No GraphQL query found in the request.") from None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.scope.setdefault("state", {})[_SUB_RESPONSE] = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """The body, and on the sub-response the status, media type and Retry-After that
        follow from it (GraphQL over HTTP)."""
        body = process_result(result)
        answer = http_answer(result, _answer_media_type(request))
        sub_response = request.scope["state"][_SUB_RESPONSE]
        sub_response.status_code = answer.status
        sub_response.media_type = answer.media_type
        if answer.retry_after is not None:
            sub_response.headers["Retry-After"] = str(answer.retry_after)
        if not answer.with_data:
            body.pop("data", None)
        return body

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or 200,
            media_type=sub_response.media_type or JSON,
        )
        response.headers.raw.extend(
            (name, value) for name, value in sub_response.headers.raw if name != b"content-type"
        )
        if sub_response.background:
            response.background = sub_response.background
        return response

    def decode_json(self, data: str | bytes) -> object:
        """JSON nested deeper than the parser's recursion allows is malformed input (a 400,
        or 4400 on a WebSocket), not a server error."""
        try:
            return json.loads(data)
        except RecursionError:
            text = data if isinstance(data, str) else data.decode(errors="replace")
            raise json.JSONDecodeError("JSON nested too deeply", text, 0) from None

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
