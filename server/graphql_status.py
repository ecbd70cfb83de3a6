"""The HTTP status of a GraphQL result, as the GraphQL-over-HTTP spec has it.

With `application/graphql-response+json` a request error (nothing executed: a document
that does not parse or validate, a variable that does not fit, a refusal by the limits)
has no `data` and a 4xx status; a response with `data` is 200. With `application/json`
every GraphQL response is 200, as clients of that media type expect. Either way, an
outage that left no data answers 503 with Retry-After, and a throttled operation says
when to retry."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from server.http_errors import GRAPHQL_RESPONSE
from services.availability import RETRY_AFTER_SECONDS

_REQUEST_ERROR_STATUS = {"THROTTLED": 429, "SERVICE_UNAVAILABLE": 503, "UNAUTHENTICATED": 401}


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    media_type: str
    with_data: bool
    retry_after: int | None


def http_answer(result: ExecutionResult, media_type: str) -> HttpAnswer:
    errors = result.errors or []
    codes = [str((e.extensions or {}).get("code")) for e in errors]
    request_error = isinstance(result, PreExecutionError) or (
        result.data is None and bool(errors) and all(e.path is None for e in errors)
    )
    retry_after = _retry_after(result)
    no_data = result.data is None or all(v is None for v in result.data.values())
    if "SERVICE_UNAVAILABLE" in codes and no_data:
        return HttpAnswer(503, media_type, not request_error, retry_after)
    if media_type != GRAPHQL_RESPONSE or not request_error:
        return HttpAnswer(200, media_type, True, retry_after)
    status = next((_REQUEST_ERROR_STATUS[c] for c in codes if c in _REQUEST_ERROR_STATUS), 400)
    return HttpAnswer(status, media_type, False, retry_after)


def _retry_after(result: ExecutionResult) -> int | None:
    for error in result.errors or []:
        extensions = error.extensions or {}
        if extensions.get("code") == "SERVICE_UNAVAILABLE":
            return RETRY_AFTER_SECONDS
        seconds = extensions.get("retryAfterSeconds")
        if extensions.get("code") == "THROTTLED" and isinstance(seconds, int | float):
            return max(1, int(-(-seconds // 1)))
    return None
