"""Strawberry types, inputs, enums and permission classes; `build_schema` assembles them."""

from __future__ import annotations

from graphql import lexicographic_sort_schema, print_schema
from strawberry import Schema
from strawberry.extensions import (
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig

from schema.company import CompanyType
from schema.errors import MaskUnexpectedErrors
from schema.organization import OrganizationType
from schema.query import Query
from schema.user import UserType


def build_schema(*, introspection: bool = True) -> Schema:
    extensions: list[type[SchemaExtension]] = [
        # Dashboards repeat the same documents: parse and validate each once.
        ParserCache,
        ValidationCache,
        MaskUnexpectedErrors,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        types=[UserType, CompanyType, OrganizationType],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    """The schema as sorted SDL: the text of the committed schema.graphql."""
    sorted_schema = lexicographic_sort_schema(build_schema()._schema)
    return print_schema(sorted_schema) + "\n"
