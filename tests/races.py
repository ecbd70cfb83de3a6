"""Making two transactions interleave on purpose, without sleeping: a race test holds
both at the same statement until both have got there."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.util import await_only


@contextmanager
def meet_before(statement_prefix: str) -> Iterator[None]:
    """Holds the first two statements that start with `statement_prefix`, on any engine,
    until both are ready to run: whatever two transactions read before that statement, both
    read it before either writes."""
    barrier = asyncio.Barrier(2)
    pending = [2]

    def hold(_: Any, __: Any, statement: str, *___: Any) -> None:
        if pending[0] and statement.startswith(statement_prefix):
            pending[0] -= 1
            await_only(asyncio.wait_for(barrier.wait(), timeout=10))

    event.listen(Engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", hold)
