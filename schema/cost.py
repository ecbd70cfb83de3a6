"""What an operation may cost, computed before it runs, in the style of Shopify's
calculated query cost: a field that returns an object costs 1, a scalar nothing; a
connection multiplies what it selects per item by its page size (`first`, or the
argument's default); any other list multiplies by LIST_ESTIMATE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)

from resolvers.pagination import DEFAULT_PAGE_SIZE

# Lists that are not connections (a credential's versions, its activity) are short.
LIST_ESTIMATE = 10


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _Costing(schema, fragments, variables or {}).selection(operation.selection_set, root)


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection(node.selection_set, target or parent)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selection(fragment.selection_set, target or parent)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        if node.selection_set is None or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0  # scalars and enums are free
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0
        per_item = self.selection(node.selection_set, get_named_type(definition.type))
        return 1 + self.multiplier(node, definition, parent) * per_item

    def multiplier(
        self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType
    ) -> int:
        if "first" in definition.args:
            return self.page_size(node, definition)
        if parent.name.endswith("Connection"):
            return 1  # edges: the connection's page size already counts them
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        return LIST_ESTIMATE if isinstance(field_type, GraphQLList) else 1

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
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
                given = self.variables.get(argument.value.name.value)
            if given is not None:
                size = given
        return size if isinstance(size, int) and size > 0 else 1
