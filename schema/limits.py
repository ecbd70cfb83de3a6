"""Limits every operation must stay within: depth, aliases, tokens and calculated cost.
Refusals come back as errors with a code, before anything runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from graphql import ASTValidationRule, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.extensions import max_aliases as alias_limit
from strawberry.extensions import query_depth_limiter as depth_limit
from strawberry.extensions.query_depth_limiter import IgnoreContext

from schema.cost import operation_cost


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_cost: int = 1_000


DEFAULT_LIMITS = QueryLimits()


class QueryCost(SchemaExtension):
    """Refuses an operation whose calculated cost exceeds the limit, and reports the cost
    in the response's `extensions.cost` either way."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost
        self.requested: int | None = None
        self.throttle: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.requested = operation_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            refusal = self._too_costly() or await self._throttled()
            if refusal is not None:
                context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def _too_costly(self) -> GraphQLError | None:
        assert self.requested is not None
        if self.requested <= self.max_cost:
            return None
        return GraphQLError(
            f"This operation would cost {self.requested}, more than the {self.max_cost} "
            "allowed: ask for fewer items ('first') or fewer fields.",
            extensions={
                "code": "QUERY_TOO_COSTLY",
                "requestedQueryCost": self.requested,
                "maximumAvailable": self.max_cost,
            },
        )

    async def _throttled(self) -> GraphQLError | None:
        """Takes the cost from the caller's token's bucket, or refuses saying when to retry."""
        request = self.execution_context.context
        buckets, viewer = getattr(request, "rate_limiter", None), getattr(request, "viewer", None)
        if buckets is None or viewer is None or self.requested is None:
            return None
        decision = await buckets.take(f"token:{viewer.token_id}", self.requested, request.now())
        self.throttle = {
            "maximumAvailable": buckets.shape.capacity,
            "currentlyAvailable": int(decision.available),
            "restoreRate": buckets.shape.restore_rate,
        }
        if decision.allowed:
            return None
        return GraphQLError(
            f"Throttled: this operation costs {self.requested} and {int(decision.available)} "
            f"is available to this token now; retry in {decision.retry_after_seconds} s.",
            extensions={
                "code": "THROTTLED",
                "retryAfterSeconds": decision.retry_after_seconds,
                "requestedQueryCost": self.requested,
            },
        )

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        cost: dict[str, Any] = {
            "requestedQueryCost": self.requested,
            "maximumAvailable": self.max_cost,
        }
        if self.throttle is not None:
            cost["throttleStatus"] = self.throttle
        return {"cost": cost}


def limit_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """Factories: Strawberry makes each extension anew for every operation."""
    return [
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(AddValidationRules, list(_validation_rules(limits.max_aliases, limits.max_depth))),
        partial(QueryCost, limits.max_cost),
    ]


@cache
def _validation_rules(max_aliases: int, max_depth: int) -> tuple[type[ASTValidationRule], ...]:
    """The alias and depth rules, made once. Strawberry's MaxAliasesLimiter and
    QueryDepthLimiter make a new rule class per operation, and ValidationCache keys its
    cache by the rule classes: it never hit, and every request validated again."""
    return (
        alias_limit.create_validator(max_aliases),
        depth_limit.create_validator(max_depth, _introspection),
    )


def _introspection(ignore: IgnoreContext) -> bool:
    """Introspection nests type references deeply (GraphiQL's own query passes 10); it is
    governed by the INTROSPECTION setting instead."""
    return ignore.field_name.startswith("__")
