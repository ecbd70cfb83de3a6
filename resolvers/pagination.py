"""Keyset pagination input and results: cursors are the sort key of a row, opaque to clients.

Keyset pages stay correct while rows are inserted or removed between requests, where an
offset would skip or repeat rows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from resolvers.errors import BadInputError
from services.text import has_control_characters

Row = TypeVar("Row")

MAX_SQL_INTEGER = 2**31 - 1
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, shape: tuple[type, ...], argument: str = "after") -> tuple[Any, ...]:
    """The sort key in a cursor, checked against the types the connection sorts by."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(shape)
        or not all(_fits(v, t) for v, t in zip(key, shape, strict=True))
    ):
        raise BadInputError(f"'{argument}' cursor {cursor!r} is not a cursor of this connection")
    return tuple(key)


def _fits(value: object, kind: type) -> bool:
    if type(value) is not kind:
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_SQL_INTEGER
    return isinstance(value, str) and not has_control_characters(value)


def check_page_size(first: int, argument: str = "first") -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadInputError(f"'{argument}' must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


@dataclass(frozen=True)
class PageRequest:
    """Relay's page arguments, checked: `first` after a cursor, or `last` before one."""

    size: int
    cursor: str | None
    backward: bool

    @property
    def cursor_argument(self) -> str:
        return "before" if self.backward else "after"

    @classmethod
    def of(
        cls, first: int | None, after: str | None, last: int | None, before: str | None
    ) -> PageRequest:
        if first is not None and last is not None:
            raise BadInputError("pass 'first' or 'last', not both")
        if last is not None or before is not None:
            if after is not None:
                raise BadInputError("'after' goes with 'first'; 'before' with 'last'")
            if first is not None:
                raise BadInputError("'before' goes with 'last', not with 'first'")
            size = check_page_size(last if last is not None else DEFAULT_PAGE_SIZE, "last")
            return cls(size=size, cursor=before, backward=True)
        size = check_page_size(first if first is not None else DEFAULT_PAGE_SIZE)
        return cls(size=size, cursor=after, backward=False)


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows in order, each with its cursor, and a lazy total count."""

    rows: list[Row]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]

    @classmethod
    def cut(
        cls,
        fetched: list[Row],
        first: int,
        key: Callable[[Row], Sequence[Any]],
        *,
        has_previous: bool,
        count: Callable[[], Awaitable[int]],
    ) -> Page[Row]:
        """`fetched` holds up to first + 1 rows: the extra one only says a next page exists."""
        rows = fetched[:first]
        return cls(
            rows=rows,
            cursors=[encode_cursor(key(row)) for row in rows],
            has_next=len(fetched) > first,
            has_previous=has_previous,
            count=count,
        )
