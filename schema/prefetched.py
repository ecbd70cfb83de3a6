"""Fields whose answer is usually at hand: a page fetched it with its rows.

Such a field's resolver is synchronous and returns the answer when it has it, and an
awaitable that loads it otherwise: graphql-core awaits an awaitable whatever kind of
resolver returned it. Where the answer is at hand this costs no task and no await.

`answer_prefetched_first` goes one step further for the few fields a dashboard page
repeats on every row, and for the ids of the types on it: graphql-core reads the answer
from the object before Strawberry's resolver machinery is entered at all (an Info object,
argument conversion, the extension chain: a few microseconds a field, hundreds of fields
a page). The Strawberry resolver stays the reference: the shortcut answers only what it
would answer, and refuses to be installed on a field with extensions (a permission class
would otherwise be skipped). It would skip a schema extension's per-field `resolve` hook
too: the schema has none, by design (they cost a call on every field of every row).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from graphql import GraphQLField, GraphQLResolveInfo
from strawberry import Schema, relay
from strawberry.relay import GlobalID
from strawberry.types.base import StrawberryObjectDefinition

T = TypeVar("T")


def loaded_later(awaitable: Awaitable[T]) -> T:
    """The awaitable, for a synchronous resolver typed by what graphql-core makes of it."""
    return cast("T", awaitable)


@dataclass(frozen=True)
class Prefetched:
    """`field` of `owner` answers `attribute` of the object when it is not None and the
    field was given no arguments (or only nulls: their defaults)."""

    owner: type
    field: str
    attribute: str


def answer_prefetched_first(
    schema: Schema, fields: list[Prefetched], node_types: list[type[relay.Node]]
) -> None:
    for prefetched in fields:
        graphql_field, strawberry_field = _field(schema, prefetched.owner, prefetched.field)
        if strawberry_field.extensions:
            raise TypeError(
                f"{prefetched.owner.__name__}.{prefetched.field} has field extensions "
                "(permissions?): answering it from a prefetched value would skip them"
            )
        graphql_field.resolve = _attribute_first(prefetched.attribute, graphql_field.resolve)
    for node_type in node_types:
        if (
            node_type.resolve_id.__func__ is not relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
            or node_type.resolve_typename.__func__  # type: ignore[attr-defined]
            is not relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]
        ):
            raise TypeError(f"{node_type.__name__} resolves its own ids: leave it out")
        graphql_field, _ = _field(schema, node_type, "id")
        graphql_field.resolve = _node_id(_definition(node_type).name, node_type.resolve_id_attr())


def _definition(owner: type) -> StrawberryObjectDefinition:
    definition = getattr(owner, "__strawberry_definition__", None)
    if not isinstance(definition, StrawberryObjectDefinition):
        raise TypeError(f"{owner.__name__} is not a Strawberry object type")
    return definition


def _field(schema: Schema, owner: type, python_name: str) -> tuple[GraphQLField, Any]:
    definition = _definition(owner)
    strawberry_field = next(
        (f for f in definition.fields if f.python_name == python_name or f.name == python_name),
        None,
    )
    if strawberry_field is None:
        raise TypeError(f"{owner.__name__} has no field {python_name!r}")
    graphql_name = schema.config.name_converter.from_field(strawberry_field)
    graphql_type = schema._schema.type_map[definition.name]
    return graphql_type.fields[graphql_name], strawberry_field  # type: ignore[attr-defined]


def _attribute_first(attribute: str, resolve: Callable[..., Any] | None) -> Callable[..., Any]:
    assert resolve is not None, "Strawberry gives every field a resolver"

    def answer(source: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        value = getattr(source, attribute, None)
        if value is not None and all(given is None for given in arguments.values()):
            return value
        return resolve(source, info, **arguments)

    return answer


def _node_id(type_name: str, id_attribute: str) -> Callable[..., GlobalID]:
    """relay.Node's own id, without its resolver's round of Strawberry machinery."""

    def answer(source: Any, _: GraphQLResolveInfo[Any], **__: Any) -> GlobalID:
        return GlobalID(type_name=type_name, node_id=str(getattr(source, id_attribute)))

    return answer
