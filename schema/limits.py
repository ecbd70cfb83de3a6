"""Limits every operation must stay within: depth, aliases, tokens and calculated cost.
Refusals come back as errors with a code, before anything runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
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

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.requested = operation_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            if self.requested > self.max_cost:
                context.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"This operation would cost {self.requested}, more than the "
                            f"{self.max_cost} allowed: ask for fewer items ('first') or "
                            "fewer fields.",
                            extensions={
                                "code": "QUERY_TOO_COSTLY",
                                "requestedQueryCost": self.requested,
                                "maximumAvailable": self.max_cost,
                            },
                        )
                    ],
                )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        return {"cost": {"requestedQueryCost": self.requested, "maximumAvailable": self.max_cost}}


def limit_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """Factories: Strawberry makes each extension anew for every operation."""
    return [
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        partial(QueryDepthLimiter, max_depth=limits.max_depth, should_ignore=_introspection),
        partial(QueryCost, limits.max_cost),
    ]


def _introspection(ignore: IgnoreContext) -> bool:
    """Introspection nests type references deeply (GraphiQL's own query passes 10); it is
    governed by the INTROSPECTION setting instead."""
    return ignore.field_name.startswith("__")
