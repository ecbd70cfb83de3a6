"""Authentication: an API token in, the viewer it stands for out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from models.tenancy import unscoped
from server.database import Database
from services.identity import find_viewer, record_token_use
from services.tokens import parse_bearer
from services.viewer import Viewer


async def authenticate(
    database: Database, authorization: object, now: Callable[[], datetime]
) -> Viewer | None:
    """The viewer for an `Authorization` value ("Bearer <token>" or the bare token on a
    WebSocket payload); None when it is missing, malformed, unknown or revoked."""
    if not isinstance(authorization, str):
        return None
    token = parse_bearer(authorization)
    if token is None and " " not in authorization.strip():
        token = parse_bearer("Bearer " + authorization)
    if token is None:
        return None
    async with database.read(unscoped()) as session:
        found = await find_viewer(session, token, now())
    if found is None:
        return None
    viewer, stale = found
    if stale:
        async with database.transaction(unscoped()) as session:
            await record_token_use(session, viewer.token_id, now())
    return viewer
