"""Free text from clients: what it may not contain."""

from __future__ import annotations

_LINE_BREAKS = frozenset("\n\r\t")


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Control characters (NUL above all: PostgreSQL refuses it) never belong in a name,
    number or email; line breaks and tabs are fine in descriptions and reasons."""
    return any(
        (ord(c) < 32 or ord(c) == 127) and not (multiline and c in _LINE_BREAKS) for c in value
    )
