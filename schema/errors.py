"""Error shape: every error reaches clients with `extensions.code`; bugs never do.

GraphQL's own errors get the codes clients know them by (GRAPHQL_PARSE_FAILED,
GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT for variables), our coded errors pass as they
are, a database or broker that does not answer is SERVICE_UNAVAILABLE, and anything else
is masked as INTERNAL_SERVER_ERROR behind an error id that the log carries."""

from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from services.availability import RETRY_AFTER_SECONDS, is_outage

logger = logging.getLogger("credentials.errors")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


def code_of(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return str(code) if code is not None else None


def with_code(error: GraphQLError, code: str, **details: object) -> GraphQLError:
    """A copy of `error` with a code (never a syntax error: graphql-transport-ws handlers
    close the socket on those instead of answering them)."""
    return GraphQLError(
        message=error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, **details},
    )


def is_unexpected(error: GraphQLError) -> bool:
    """Syntax, validation and our own coded errors are expected; any other exception is a bug."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _needs_rewriting(error: GraphQLError) -> bool:
    return is_unexpected(error) or code_of(error) is None


class MaskUnexpectedErrors(MaskErrors):
    """Gives every error its code; replaces an unexpected error by a generic message and an
    error id, and logs the full traceback under that id (and the request's id)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_needs_rewriting)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error, GraphQLSyntaxError):
            return with_code(error, PARSE_FAILED)
        if not is_unexpected(error) and error.path is None:
            # Validation's errors are coded where they are found (schema.limits): this is
            # a variable's value that does not fit its type.
            return with_code(error, BAD_USER_INPUT)
        return self._masked(error)

    def _masked(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex
        request_id = getattr(self.execution_context.context, "request_id", None)
        original = error.original_error
        if original is not None and is_outage(original):
            logger.warning(
                "service unavailable %s in request %s at %s: %r",
                error_id,
                request_id,
                error.path,
                original,
            )
            return GraphQLError(
                message="A service this request needs is unavailable: retry in a few seconds "
                f"(error id {error_id}).",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={
                    "code": SERVICE_UNAVAILABLE,
                    "errorId": error_id,
                    "retryAfterSeconds": RETRY_AFTER_SECONDS,
                },
            )
        logger.error(
            "unexpected error %s in request %s at %s",
            error_id,
            request_id,
            error.path,
            exc_info=original or error,
        )
        return GraphQLError(
            message=f"Internal server error (error id {error_id}).",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL, "errorId": error_id},
        )
