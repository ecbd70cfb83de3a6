"""Turning the local part of a Relay global id back into a database key."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.relay import GlobalID

# Keys are 32-bit on PostgreSQL: a larger one cannot exist, so it is simply not found.
MAX_KEY = 2**31 - 1


def local_key(node_id: str) -> int | None:
    """The integer key written canonically ("12", not "012"); None for anything else."""
    if not (node_id.isascii() and node_id.isdigit()) or node_id != str(int(node_id)):
        return None
    key = int(node_id)
    return key if 1 <= key <= MAX_KEY else None


def local_ids(node_ids: Iterable[str]) -> list[int | None]:
    """Integer keys, None for anything that is not one (it then resolves as not found)."""
    return [local_key(node_id) for node_id in node_ids]


def _expect_id(global_id: GlobalID, type_name: str) -> int | None:
    """The key of a global id of the expected type; None for any other (not found)."""
    if global_id.type_name != type_name:
        return None
    return local_key(global_id.node_id)


def key_of(value: str, type_name: str) -> int | None:
    """The key of a global id as clients send it, if it names an object of that type;
    None otherwise (the caller answers "not found", as for an object the viewer cannot see)."""
    global_id = parse_global_id(value)
    return _expect_id(global_id, type_name) if global_id is not None else None


def parse_global_id(value: str) -> GlobalID | None:
    """A global id as clients send it; None when it is not one (it is then not found)."""
    try:
        return GlobalID.from_id(value)
    except ValueError:
        return None
