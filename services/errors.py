"""Expected failures: a code from the domain's enum, the input field at fault, a message."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class DomainError(Exception):
    """Raised by services for failures a caller can act on; never for bugs."""

    def __init__(self, code: Enum, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class DomainErrors(Exception):
    """Several expected failures at once, e.g. every invalid field of a form."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def raise_all(errors: Sequence[DomainError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DomainErrors(errors)
