"""Links into the dashboard, as people open them from a message."""

from __future__ import annotations

import base64
from urllib.parse import quote


def relay_global_id(type_name: str, key: int) -> str:
    """The opaque id the API gives the object (Strawberry's relay GlobalID: base64 of
    "Type:key"), made here without Strawberry, which services do not import."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def credential_link(public_url: str, credential_id: int) -> str:
    """`{PUBLIC_URL}/credentials/{global id}`; the id is quoted, as base64 may hold '/'."""
    global_id = quote(relay_global_id("Credential", credential_id), safe="")
    return f"{public_url.rstrip('/')}/credentials/{global_id}"
