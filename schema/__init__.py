"""Strawberry types, inputs, enums and permission classes; `build_schema` assembles them."""

from __future__ import annotations

import functools

import strawberry
from graphql import GraphQLError, lexicographic_sort_schema, print_schema
from strawberry import Schema
from strawberry.extensions import (
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.credential_mutations import CredentialMutations
from schema.credential_settings import CredentialSettingsMutations
from schema.credential_type import CredentialTypeMutations
from schema.errors import MaskUnexpectedErrors
from schema.introspection import IntrospectionPolicy
from schema.node import NODE_TYPES
from schema.query import Query


@strawberry.type
class Mutation(CredentialTypeMutations, CredentialMutations, CredentialSettingsMutations):
    pass


class CredentialsSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log nothing here: client mistakes are not the operator's, and bugs are logged
        once, with the error id the client sees, by MaskUnexpectedErrors."""


@functools.cache
def build_schema() -> Schema:
    """The schema, built once per process: building is slow and its result immutable."""
    extensions: list[type[SchemaExtension]] = [
        # Dashboards repeat the same documents: parse and validate each once.
        ParserCache,
        ValidationCache,
        MaskUnexpectedErrors,
        IntrospectionPolicy,
    ]
    return CredentialsSchema(
        query=Query,
        mutation=Mutation,
        types=list(NODE_TYPES.values()),
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    """The schema as sorted SDL: the text of the committed schema.graphql."""
    sorted_schema = lexicographic_sort_schema(build_schema()._schema)
    return print_schema(sorted_schema) + "\n"
