"""What an operation may cost, computed before it runs, in the style of Shopify's
calculated query cost: a field that returns an object costs 1, a scalar nothing; a
connection multiplies what it selects per item by its page size (`first`, or the
argument's default); any other list multiplies by LIST_ESTIMATE. The walk over the
document is schema/measure.py's; this module prices one field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    IntValueNode,
    VariableNode,
)

from resolvers.pagination import DEFAULT_PAGE_SIZE

# Lists that are not connections (a credential's versions, its activity) are short.
LIST_ESTIMATE = 10


def field_cost(
    node: FieldNode,
    definition: GraphQLField,
    parent: GraphQLNamedType,
    per_item: int,
    variables: Mapping[str, Any],
) -> int:
    """The cost of a field that returns an object, given what it selects per item."""
    return 1 + _multiplier(node, definition, parent, variables) * per_item


def _multiplier(
    node: FieldNode,
    definition: GraphQLField,
    parent: GraphQLNamedType,
    variables: Mapping[str, Any],
) -> int:
    if "first" in definition.args:
        return _page_size(node, definition, variables)
    if parent.name.endswith("Connection"):
        return 1  # edges: the connection's page size already counts them
    field_type = definition.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return LIST_ESTIMATE if isinstance(field_type, GraphQLList) else 1


def _page_size(node: FieldNode, definition: GraphQLField, variables: Mapping[str, Any]) -> int:
    """`first` or `last`, whichever is given; else the default page size."""
    default = definition.args["first"].default_value
    size: object = default if isinstance(default, int) else DEFAULT_PAGE_SIZE
    for argument in node.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        given: object = None
        if isinstance(argument.value, IntValueNode):
            given = int(argument.value.value)
        elif isinstance(argument.value, VariableNode):
            given = variables.get(argument.value.name.value)
        if given is not None:
            size = given
    return size if isinstance(size, int) and size > 0 else 1
