"""Turning the local part of a Relay global id back into a database key."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.relay import GlobalID


def local_ids(node_ids: Iterable[str]) -> list[int | None]:
    """Integer keys, None for anything that is not one (it then resolves as not found)."""
    keys: list[int | None] = []
    for node_id in node_ids:
        keys.append(int(node_id) if node_id.isascii() and node_id.isdigit() else None)
    return keys


def expect_id(global_id: GlobalID, type_name: str) -> int | None:
    """The key of a global id of the expected type; None for any other (not found)."""
    if global_id.type_name != type_name:
        return None
    return local_ids([global_id.node_id])[0]
