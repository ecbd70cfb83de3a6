"""Top-level GraphQL errors that are expected, with a machine-readable code.

Everything else that escapes a resolver is a bug: it is masked and logged (server.errors).
"""

from __future__ import annotations

from graphql import GraphQLError


class PublicError(GraphQLError):
    code = "BAD_REQUEST"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class NotAuthenticatedError(PublicError):
    code = "UNAUTHENTICATED"

    def __init__(
        self,
        message: str = "Authentication required: send a valid API token as "
        "'Authorization: Bearer <token>'.",
    ) -> None:
        super().__init__(message)


class BadInputError(PublicError):
    code = "BAD_USER_INPUT"


class ForbiddenError(PublicError):
    code = "FORBIDDEN"
