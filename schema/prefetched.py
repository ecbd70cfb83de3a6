"""Fields whose answer is usually at hand: a page fetched it with its rows.

Such a field's resolver is synchronous and returns the answer when it has it, and an
awaitable that loads it otherwise: graphql-core awaits an awaitable whatever kind of
resolver returned it. Where the answer is at hand this costs no task and no await, which
on a page of 50 rows with a few such fields each was most of GraphQL's share of the time.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, cast

T = TypeVar("T")


def loaded_later(awaitable: Awaitable[T]) -> T:
    """The awaitable, for a synchronous resolver typed by what graphql-core makes of it."""
    return cast("T", awaitable)
