"""Turning the local part of a Relay global id back into a database key."""

from __future__ import annotations

from collections.abc import Iterable


def local_ids(node_ids: Iterable[str]) -> list[int | None]:
    """Integer keys, None for anything that is not one (it then resolves as not found)."""
    keys: list[int | None] = []
    for node_id in node_ids:
        keys.append(int(node_id) if node_id.isascii() and node_id.isdigit() else None)
    return keys
