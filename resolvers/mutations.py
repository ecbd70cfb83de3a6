"""How every mutation runs: one write transaction; expected failures roll it back and come
back as typed errors; anything else propagates (and is masked and logged)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import Info

from resolvers.context import RequestContext
from services.errors import DomainError, DomainErrors
from services.viewer import Viewer

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[DomainError] = field(default_factory=list)


def refused(context: RequestContext, errors: list[DomainError]) -> Outcome[Any]:
    """An outcome refused before any transaction, counted like every other refusal."""
    context.error_codes.extend(str(error.code.value) for error in errors)
    return Outcome(errors=errors)


async def run_mutation(
    info: Info[RequestContext, None],
    work: Callable[[AsyncSession, Viewer, datetime], Awaitable[T]],
) -> Outcome[T]:
    context = info.context
    viewer = context.require_viewer()
    try:
        async with context.transaction() as session:
            value = await work(session, viewer, context.now())
    except DomainError as error:
        return refused(context, [error])
    except DomainErrors as errors:
        return refused(context, errors.errors)
    finally:
        # What the loaders cached before this mutation is stale now, for what follows in
        # the same document.
        context.reset_loaders()
    return Outcome(value=value)
