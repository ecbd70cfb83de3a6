"""One error shape for every HTTP answer that is not a success: JSON with
`errors[].extensions.code`, the X-Request-ID (added by server.request_id around this), and
a status that says what happened. A database or broker that does not answer is a 503
SERVICE_UNAVAILABLE with Retry-After; anything else unexpected is a 500 with an error id
the log carries, and the connection stays usable."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.request_id import request_id_of
from services.availability import RETRY_AFTER_SECONDS, is_outage

logger = logging.getLogger("credentials.errors")

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"

# Codes of HTTP statuses Starlette answers by itself (unknown route, wrong method, …).
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    410: "GONE",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "THROTTLED",
    503: "SERVICE_UNAVAILABLE",
}


def error_body(code: str, message: str, **details: object) -> dict[str, object]:
    return {"errors": [{"message": message, "extensions": {"code": code, **details}}]}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    media_type: str = JSON,
    **details: object,
) -> Response:
    return JSONResponse(
        error_body(code, message, **details),
        status_code=status,
        headers=dict(headers or {}),
        media_type=media_type,
    )


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")


def unavailable(media_type: str = JSON) -> Response:
    return error_response(
        503,
        "SERVICE_UNAVAILABLE",
        "A service this request needs is unavailable: retry in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        media_type=media_type,
        retryAfterSeconds=RETRY_AFTER_SECONDS,
    )


async def http_exception(_: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed, a body too large)."""
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    return error_response(
        error.status_code, code_for_status(error.status_code), error.detail, headers
    )


class ErrorShapeMiddleware:
    """Answers what escapes the app as a typed JSON error instead of a bare text 500 (and
    a closed connection): SERVICE_UNAVAILABLE for an outage, else INTERNAL_SERVER_ERROR
    with an error id, logged with its traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise  # half a response is out: nothing better than to cut it
            response = self._answer(scope, error)
            await response(scope, receive, send)

    @staticmethod
    def _answer(scope: Scope, error: Exception) -> Response:
        request_id = request_id_of(scope)
        if is_outage(error):
            logger.warning("service unavailable in request %s: %r", request_id, error)
            return unavailable()
        error_id = uuid.uuid4().hex
        logger.error("unexpected error %s in request %s", error_id, request_id, exc_info=error)
        return error_response(
            500,
            "INTERNAL_SERVER_ERROR",
            f"Internal server error (error id {error_id}).",
            errorId=error_id,
        )
