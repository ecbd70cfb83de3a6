"""Strawberry types, inputs, enums and permission classes; `build_schema` assembles them."""

from __future__ import annotations

import functools
from collections.abc import Callable

import strawberry
from graphql import GraphQLError, lexicographic_sort_schema, print_schema
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.credential import PREFETCHED, PREFETCHED_NODE_IDS
from schema.credential_mutations import CredentialMutations
from schema.credential_settings import CredentialSettingsMutations
from schema.credential_type import CredentialTypeMutations
from schema.csv_io import CsvMutations, ImportSubscriptions
from schema.errors import MaskUnexpectedErrors
from schema.events import Subscription as EventSubscriptions
from schema.introspection import IntrospectionPolicy
from schema.job_role_mutations import JobRoleMutations
from schema.limits import DEFAULT_LIMITS, QueryLimits, limit_extensions
from schema.node import NODE_TYPES
from schema.notifications import NotificationMutations
from schema.observability import OperationObserver
from schema.prefetched import answer_prefetched_first
from schema.query import Query
from schema.webhooks import WebhookMutations


@strawberry.type
class Mutation(
    CredentialTypeMutations,
    CredentialMutations,
    CredentialSettingsMutations,
    NotificationMutations,
    JobRoleMutations,
    CsvMutations,
    WebhookMutations,
):
    pass


@strawberry.type
class Subscription(EventSubscriptions, ImportSubscriptions):
    pass


class CredentialsSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log nothing here: client mistakes are not the operator's, and bugs are logged
        once, with the error id the client sees, by MaskUnexpectedErrors."""


def schema_extensions(
    limits: QueryLimits,
) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    """Every operation's extensions, in the order their hooks must run."""
    return [
        # First, so that its end of the operation runs last and sees the final error codes.
        OperationObserver,
        # Parsing and validation (each cached) within the limits.
        *limit_extensions(limits),
        MaskUnexpectedErrors,
        IntrospectionPolicy,
    ]


@functools.cache
def build_schema(limits: QueryLimits = DEFAULT_LIMITS, field_suggestions: bool = True) -> Schema:
    """The schema, built once per process and configuration: building is slow and its
    result immutable. Field suggestions ("did you mean ...") reveal the schema: off in
    prod, where introspection is off too."""
    schema = CredentialsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(NODE_TYPES.values()),
        extensions=schema_extensions(limits),
        config=StrawberryConfig(
            auto_camel_case=True, disable_field_suggestions=not field_suggestions
        ),
    )
    answer_prefetched_first(schema, PREFETCHED, PREFETCHED_NODE_IDS)
    return schema


def export_sdl() -> str:
    """The schema as sorted SDL: the text of the committed schema.graphql."""
    sorted_schema = lexicographic_sort_schema(build_schema()._schema)
    return print_schema(sorted_schema) + "\n"
