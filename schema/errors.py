"""Error masking: expected errors reach clients with their code; bugs never do."""

from __future__ import annotations

import logging
import uuid

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

logger = logging.getLogger("credentials.errors")


def is_unexpected(error: GraphQLError) -> bool:
    """Syntax, validation and our own coded errors are expected; any other exception is a bug."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """Replaces an unexpected error by a generic message and an error id, and logs the
    full traceback under that id (and the request's id) for the operator."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex
        request_id = getattr(self.execution_context.context, "request_id", None)
        logger.error(
            "unexpected error %s in request %s at %s",
            error_id,
            request_id,
            error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message=f"Internal server error (error id {error_id}).",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
        )
