"""Prefetched answers: read from the object when there, else the field's own resolver;
never installed where they would skip a permission."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission, PermissionExtension

from schema.prefetched import Prefetched, answer_prefetched_first


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[int]
    listed_label: strawberry.Private[str | None] = None

    @strawberry.field
    def label(self, suffix: str | None = None) -> str:
        return f"loaded{suffix or ''}"


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Guarded:
    listed_secret: strawberry.Private[str | None] = None

    @strawberry.field(extensions=[PermissionExtension(permissions=[Never()])])  # type: ignore[untyped-decorator]
    def secret(self) -> str:
        return "loaded"


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(id=1, listed_label="fetched"), Item(id=2)]

    @strawberry.field
    def guarded(self) -> Guarded:
        return Guarded(listed_secret="fetched")


async def test_the_prefetched_answer_is_read_and_the_resolver_answers_the_rest() -> None:
    # given a schema whose Item.label and Item ids answer from the object first
    schema = strawberry.Schema(Query)
    answer_prefetched_first(schema, [Prefetched(Item, "label", "listed_label")], [Item])

    # when items with and without a prefetched label are read, with and without arguments
    result = await schema.execute("{ items { id label withNull: label(suffix: null) "
                                  'withSuffix: label(suffix: "!") } }')  # fmt: skip

    # then the prefetched label answers where it is there and no argument asks for more;
    # the field's resolver answers the rest; ids read as relay.Node's own
    assert result.errors is None
    assert result.data == {
        "items": [
            {
                "id": relay.to_base64("Item", 1),
                "label": "fetched",
                "withNull": "fetched",
                "withSuffix": "loaded!",
            },
            {
                "id": relay.to_base64("Item", 2),
                "label": "loaded",
                "withNull": "loaded",
                "withSuffix": "loaded!",
            },
        ]
    }


def test_a_field_with_a_permission_is_refused() -> None:
    # given a field guarded by a permission class
    schema = strawberry.Schema(Query)
    # when its prefetched answer would be installed, then it is refused
    with pytest.raises(TypeError, match="skip them"):
        answer_prefetched_first(schema, [Prefetched(Guarded, "secret", "listed_secret")], [])
    assert schema.execute_sync("{ guarded { secret } }").errors is not None
