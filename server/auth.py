"""Authentication: an API token in, the viewer it stands for out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from models.tenancy import unscoped
from server.database import Database
from services.identity import (
    last_use_is_stale,
    record_token_use,
    select_viewer_of_token,
    token_parameters,
    viewer_of_row,
)
from services.tokens import parse_bearer
from services.viewer import Viewer


def token_from_connection_params(params: dict[str, object]) -> str | None:
    """The token of a graphql-transport-ws `connection_init` payload's `Authorization`
    key: "Bearer <token>", or the bare token as some WebSocket clients send it."""
    value = next((v for k, v in params.items() if k.lower() == "authorization"), None)
    if not isinstance(value, str):
        return None
    if " " not in value.strip():
        value = "Bearer " + value
    return parse_bearer(value)


async def authenticate(
    database: Database, token: str | None, now: Callable[[], datetime]
) -> Viewer | None:
    """The viewer a token stands for; None when it is missing, unknown or revoked, or its
    user inactive."""
    if token is None:
        return None
    # One statement outside any transaction: it runs on every request.
    rows = await database.read_rows(unscoped(), select_viewer_of_token(), token_parameters(token))
    if not rows:
        return None
    viewer = viewer_of_row(rows[0])
    if last_use_is_stale(rows[0], now()):
        async with database.transaction(unscoped()) as session:
            await record_token_use(session, viewer.token_id, now())
    return viewer
