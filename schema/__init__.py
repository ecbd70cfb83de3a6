"""Strawberry types, inputs, enums and permission classes; `build_schema` assembles them."""

from __future__ import annotations

import functools

import strawberry
from graphql import lexicographic_sort_schema, print_schema
from strawberry import Schema
from strawberry.extensions import (
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from schema.company import CompanyType
from schema.credential import CredentialNode, CredentialVersionNode
from schema.credential_mutations import CredentialMutations
from schema.credential_settings import CredentialSettingsMutations
from schema.credential_type import CredentialTypeMutations, CredentialTypeNode
from schema.errors import MaskUnexpectedErrors
from schema.introspection import IntrospectionPolicy
from schema.organization import OrganizationType
from schema.query import Query
from schema.user import UserType


@strawberry.type
class Mutation(CredentialTypeMutations, CredentialMutations, CredentialSettingsMutations):
    pass


@functools.cache
def build_schema() -> Schema:
    """The schema, built once per process and flag: Strawberry's relay fields bind their
    resolvers to the type classes when a schema is built, so they cannot be built twice."""
    extensions: list[type[SchemaExtension]] = [
        # Dashboards repeat the same documents: parse and validate each once.
        ParserCache,
        ValidationCache,
        MaskUnexpectedErrors,
        IntrospectionPolicy,
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[
            UserType,
            CompanyType,
            OrganizationType,
            CredentialTypeNode,
            CredentialNode,
            CredentialVersionNode,
        ],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    """The schema as sorted SDL: the text of the committed schema.graphql."""
    sorted_schema = lexicographic_sort_schema(build_schema()._schema)
    return print_schema(sorted_schema) + "\n"
