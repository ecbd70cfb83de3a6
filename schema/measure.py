"""One pass over a document that measures what the limits look at: the depth, aliases,
fields and cost of each operation as if every fragment spread were written out.

Each fragment is measured once and its measure reused at every spread, so the pass visits
each selection of the document once, whatever the spreads multiply: a chain of fragments
that each spread the previous one twice is 2^n fields written out but n fragments here.
A fragment being measured that is spread again (a cycle) counts as empty: graphql-core's
NoFragmentCyclesRule refuses the document, but nothing here relies on it having run.

`repeated_fields` then counts the pairs of fields that share a response key in one merged
selection set, walking the document written out (fields of one spread fragment merged
once, as graphql-core merges them); that is what validation's
OverlappingFieldsCanBeMergedRule compares, pair by pair, so its cost grows with the square
of such repetitions. The walk runs only on documents whose written-out size is within the
limit, and stops as soon as the count passes its budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)

from schema.cost import field_cost

# Introspection nests type references deeply (GraphiQL's own query passes 10); it is
# governed by the INTROSPECTION setting instead. Only the real fields are exempt: an alias
# is the client's choice of name.
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Extent:
    """A selection set with its fragments written out: its deepest field (a leaf right
    under it is at depth 0, as in `{ me { name } }` whose depth is 1), its aliases, its
    fields and its cost."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0

    def __or__(self, other: Extent) -> Extent:
        """Both, side by side in one selection set."""
        return Extent(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.fields + other.fields,
            self.cost + other.cost,
        )


EMPTY = Extent()


@dataclass
class DocumentMeasure:
    operations: dict[OperationDefinitionNode, Extent]
    fragments: dict[str, Extent]
    visits: int  # selections looked at: each selection of the document once

    @property
    def written_out_fields(self) -> int:
        """Fields of every operation and fragment definition with each spread written out."""
        return sum(e.fields for e in self.operations.values()) + sum(
            e.fields for e in self.fragments.values()
        )

    def deepest(self) -> Extent:
        """The greatest depth and aliases of any operation (a fragment counts where it is
        spread: under `__schema` its depth is introspection's)."""
        extents = self.operations.values()
        return Extent(
            depth=max((e.depth for e in extents), default=0),
            aliases=max((e.aliases for e in extents), default=0),
        )


def measure_document(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None
) -> DocumentMeasure:
    measurer = _Measurer(schema, document, variables or {})
    operations = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            operations[definition] = measurer.selection(definition.selection_set, root)
    fragments = {name: measurer.fragment(name) for name in measurer.definitions}
    return DocumentMeasure(operations, fragments, measurer.visits)


@dataclass
class _Measurer:
    schema: GraphQLSchema
    document: DocumentNode
    variables: Mapping[str, Any]
    definitions: dict[str, FragmentDefinitionNode] = field(init=False)
    measured: dict[str, Extent] = field(default_factory=dict)
    measuring: set[str] = field(default_factory=set)
    visits: int = 0

    def __post_init__(self) -> None:
        self.definitions = _fragments(self.document)

    def fragment(self, name: str) -> Extent:
        if (known := self.measured.get(name)) is not None:
            return known
        definition = self.definitions.get(name)
        if definition is None or name in self.measuring:
            return EMPTY  # unknown, or a cycle: validation refuses both
        self.measuring.add(name)
        target = self.schema.get_type(definition.type_condition.name.value)
        extent = self.selection(definition.selection_set, target)
        self.measuring.discard(name)
        self.measured[name] = extent
        return extent

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Extent:
        total = EMPTY
        for node in selection_set.selections:
            self.visits += 1
            if isinstance(node, FieldNode):
                total = total | self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total = total | self.selection(node.selection_set, target)
            elif isinstance(node, FragmentSpreadNode):
                total = total | self.fragment(node.name.value)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Extent:
        aliases = 1 if node.alias is not None else 0
        if node.selection_set is None:
            return Extent(aliases=aliases, fields=1)
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        child = get_named_type(definition.type) if definition is not None else None
        below = self.selection(node.selection_set, child)
        cost = 0  # scalars, unknown fields and introspection are free
        if definition is not None and parent is not None:
            cost = field_cost(node, definition, parent, below.cost, self.variables)
        depth = 0 if node.name.value in _INTROSPECTION_ROOTS else 1 + below.depth
        return Extent(depth, aliases + below.aliases, 1 + below.fields, cost)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


@dataclass
class RepeatedFields:
    pairs: int  # pairs of fields with the same response key in one merged selection set
    visits: int  # selections looked at


def repeated_fields(document: DocumentNode, budget: int) -> RepeatedFields:
    """Pairs of fields that share a response key in one merged selection set, over every
    operation and fragment definition; counting stops once past `budget`."""
    walk = _PairWalk(_fragments(document), budget)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk.merged([(definition.selection_set, frozenset())])
        elif isinstance(definition, FragmentDefinitionNode):
            walk.merged([(definition.selection_set, frozenset({definition.name.value}))])
        if walk.pairs > budget:
            break
    return RepeatedFields(walk.pairs, walk.visits)


# A selection set and the fragments spread on the way to it: spread again below
# themselves, they would never end.
_Reached = tuple[SelectionSetNode, frozenset[str]]


@dataclass
class _PairWalk:
    definitions: dict[str, FragmentDefinitionNode]
    budget: int
    pairs: int = 0
    visits: int = 0

    def merged(self, selection_sets: list[_Reached]) -> None:
        """One merged selection set: its fields by response key, then the merged
        selection set below each key."""
        groups: dict[str, list[tuple[FieldNode, frozenset[str]]]] = {}
        for node, ancestors in self._collect(selection_sets):
            key = node.alias.value if node.alias else node.name.value
            group = groups.setdefault(key, [])
            self.pairs += len(group)
            group.append((node, ancestors))
            if self.pairs > self.budget:
                return
        for group in groups.values():
            children = [(f.selection_set, a) for f, a in group if f.selection_set is not None]
            if children:
                self.merged(children)
                if self.pairs > self.budget:
                    return

    def _collect(
        self, selection_sets: list[_Reached]
    ) -> Iterator[tuple[FieldNode, frozenset[str]]]:
        spread: set[str] = set()  # a fragment spread twice in one set merges once
        pending = list(reversed(selection_sets))
        while pending:
            selection_set, ancestors = pending.pop()
            for node in selection_set.selections:
                self.visits += 1
                if isinstance(node, FieldNode):
                    yield node, ancestors
                elif isinstance(node, InlineFragmentNode):
                    pending.append((node.selection_set, ancestors))
                elif isinstance(node, FragmentSpreadNode):
                    name = node.name.value
                    definition = self.definitions.get(name)
                    if definition is None or name in ancestors or name in spread:
                        continue  # unknown, a cycle, or merged here already
                    spread.add(name)
                    pending.append((definition.selection_set, ancestors | {name}))
