"""HTTP-level guards for multipart uploads: a header a cross-site form cannot send, and a
cap on the size of any request body."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive

# Any one of these, non-empty, makes the request "non-simple": a browser sends it across
# sites only after a CORS preflight this service never grants. The first is ours; the
# others are what existing upload clients already send.
PREFLIGHT_HEADERS = (
    "graphql-require-preflight",
    "apollo-require-preflight",
    "graphql-preflight",
    "x-requested-with",
)
PREFLIGHT_HEADER = "GraphQL-Require-Preflight"


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/")


def has_preflight_header(request: Request) -> bool:
    return any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS)


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
    )


def csrf_refusal() -> Response:
    return _error(
        400,
        "CSRF_HEADER_REQUIRED",
        f"Multipart requests need the header '{PREFLIGHT_HEADER}: 1' (or "
        "'Apollo-Require-Preflight', 'GraphQL-Preflight' or 'X-Requested-With'): without "
        "one a form on another site could send the request.",
    )


def too_large(limit: int) -> Response:
    return _error(413, "REQUEST_TOO_LARGE", f"The request body is over the limit of {limit} bytes.")


def declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


def capped(receive: Receive, limit: int) -> Receive:
    """`receive` that stops a body (chunked ones too) as soon as it passes `limit` bytes."""
    received = 0

    async def receive_capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, f"The request body is over the limit of {limit} bytes.")
        return message

    return receive_capped
