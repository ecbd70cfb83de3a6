"""Applying one lifecycle change to many credentials, reporting per credential."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.errors import DomainError, DomainErrors


@dataclass(frozen=True)
class BulkOutcome:
    credential_id: int
    error: DomainError | None = None


async def for_each(
    session: AsyncSession,
    credential_ids: list[int],
    action: Callable[[int], Awaitable[object]],
) -> list[BulkOutcome]:
    """Apply `action` to each id in a savepoint of its own: one refusal never undoes or
    blocks the others, and the outcome of each id is reported."""
    outcomes = []
    for credential_id in dict.fromkeys(credential_ids):
        try:
            async with session.begin_nested():
                await action(credential_id)
        except DomainError as error:
            outcomes.append(BulkOutcome(credential_id, error))
        except DomainErrors as errors:
            outcomes.append(BulkOutcome(credential_id, errors.errors[0]))
        else:
            outcomes.append(BulkOutcome(credential_id))
    return outcomes
