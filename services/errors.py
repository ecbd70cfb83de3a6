"""Expected failures: a code from the domain's enum, the input field at fault, a message."""

from __future__ import annotations

from enum import Enum


class DomainError(Exception):
    """Raised by services for failures a caller can act on; never for bugs."""

    def __init__(self, code: Enum, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
