"""Limits every operation must stay within: the document's bytes and tokens, its size with
its fragments written out, depth, aliases, repeated fields and calculated cost; then the
caller's rate limit. Refusals come back as errors with a code, before anything runs, for
queries, mutations and subscriptions alike.

Every check costs time linear in the document's size (schema/measure.py visits each
fragment once), and runs before graphql-core's own validation: some of its rules compare
fields pair by pair, so a document refused here never reaches them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from graphql import DocumentNode, GraphQLError, get_operation_ast, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from schema.errors import VALIDATION_FAILED, with_code
from schema.measure import DocumentMeasure, measure_document, repeated_fields


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_cost: int = 1_000
    max_bytes: int = 100_000


DEFAULT_LIMITS = QueryLimits()

# Dashboards repeat the same documents: parse and validate each once. Bounded, so that
# unique documents cannot grow memory without limit.
CACHE_SIZE = 128
cached_parse = lru_cache(maxsize=CACHE_SIZE)(parse)
cached_validate = lru_cache(maxsize=CACHE_SIZE)(validate_document)

# Stands in for a document too long to parse, so that the operation reaches validation
# (where it is refused) by the path every other refusal takes, on every transport.
_PLACEHOLDERS = {
    OperationType.QUERY: "{ __typename }",
    OperationType.MUTATION: "mutation { __typename }",
    OperationType.SUBSCRIPTION: "subscription { __typename }",
}


def _refusal(code: str, message: str, **details: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


class OperationLimits(SchemaExtension):
    """Parses (cached) within the byte and token limits, measures the document, refuses
    what is beyond the limits, validates the rest (cached), then takes the operation's
    cost from the caller's rate-limit bucket. Reports the cost in `extensions.cost`."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self.oversized: int | None = None
        self.requested: int | None = None
        self.throttle: dict[str, Any] | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query or ""
        size = len(query.encode())
        if size > self.limits.max_bytes:
            # Not parsed at all: a comment or whitespace costs time too.
            self.oversized = size
            allowed = context.allowed_operations
            kind = next((k for k in _PLACEHOLDERS if k in allowed), OperationType.QUERY)
            context.graphql_document = cached_parse(_PLACEHOLDERS[kind])
        elif query:
            try:
                context.graphql_document = cached_parse(query, max_tokens=self.limits.max_tokens)
            except GraphQLError:
                # Left to Strawberry, which parses again and answers the syntax error the
                # way each transport expects.
                context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        refusal = self._beyond_limits(document)
        if refusal is not None:
            context.pre_execution_errors = [refusal]
        else:
            found = cached_validate(context.schema._schema, document, context.validation_rules)
            errors = [with_code(e, VALIDATION_FAILED) for e in found]
            if not errors and (throttled := await self._throttled()) is not None:
                errors = [throttled]
            context.pre_execution_errors = errors
        yield

    def _beyond_limits(self, document: DocumentNode) -> GraphQLError | None:
        if self.oversized is not None:
            return _refusal(
                "QUERY_TOO_LARGE",
                f"The document is {self.oversized} bytes, more than the {self.limits.max_bytes} "
                "allowed: send a shorter document (comments and whitespace count too).",
            )
        context = self.execution_context
        measure = measure_document(context.schema._schema, document, context.variables)
        return (
            self._too_large(measure)
            or self._too_deep(measure)
            or self._too_many_aliases(measure)
            or self._repeats_too_often(document)
            or self._too_costly(measure, document)
        )

    def _too_large(self, measure: DocumentMeasure) -> GraphQLError | None:
        fields, limit = measure.written_out_fields, self.limits.max_tokens
        if fields <= limit:
            return None
        return _refusal(
            "QUERY_TOO_LARGE",
            f"This document holds {fields} fields with its fragments written out, more than "
            f"the {limit} allowed: spread fewer fragments, or each fewer times.",
        )

    def _too_deep(self, measure: DocumentMeasure) -> GraphQLError | None:
        depth, limit = measure.deepest().depth, self.limits.max_depth
        if depth <= limit:
            return None
        return _refusal(
            "QUERY_TOO_DEEP",
            f"This document's depth of {depth} exceeds maximum operation depth of {limit}: "
            "ask for less nested fields.",
        )

    def _too_many_aliases(self, measure: DocumentMeasure) -> GraphQLError | None:
        aliases, limit = measure.deepest().aliases, self.limits.max_aliases
        if aliases <= limit:
            return None
        return _refusal(
            "TOO_MANY_ALIASES",
            f"This operation uses {aliases} aliases (fragments written out), more than the "
            f"{limit} aliases allowed.",
        )

    def _repeats_too_often(self, document: DocumentNode) -> GraphQLError | None:
        # Validation compares every such pair; bounded like the written-out size.
        limit = self.limits.max_tokens
        if repeated_fields(document, limit).pairs <= limit:
            return None
        return _refusal(
            "QUERY_TOO_LARGE",
            "This document asks for the same fields in one place too many times (over "
            f"{limit} pairs of fields with the same name): ask for each field once.",
        )

    def _too_costly(self, measure: DocumentMeasure, document: DocumentNode) -> GraphQLError | None:
        context = self.execution_context
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return None  # validation says why
        self.requested = measure.operations[operation].cost
        if self.requested <= self.limits.max_cost:
            return None
        return _refusal(
            "QUERY_TOO_COSTLY",
            f"This operation would cost {self.requested}, more than the {self.limits.max_cost} "
            "allowed: ask for fewer items ('first') or fewer fields.",
            requestedQueryCost=self.requested,
            maximumAvailable=self.limits.max_cost,
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
        return _refusal(
            "THROTTLED",
            f"Throttled: this operation costs {self.requested} and {int(decision.available)} "
            f"is available to this token now; retry in {decision.retry_after_seconds} s.",
            retryAfterSeconds=decision.retry_after_seconds,
            requestedQueryCost=self.requested,
        )

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        cost: dict[str, Any] = {
            "requestedQueryCost": self.requested,
            "maximumAvailable": self.limits.max_cost,
        }
        if self.throttle is not None:
            cost["throttleStatus"] = self.throttle
        return {"cost": cost}


def limit_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """Factories: Strawberry makes each extension anew for every operation."""
    return [partial(OperationLimits, limits)]
