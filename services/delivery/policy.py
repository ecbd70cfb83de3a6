"""Who reads which part of the delivery log."""

from __future__ import annotations

from models.permission import Permission
from services.viewer import Viewer


def delivery_log_of(viewer: Viewer) -> int | None:
    """Whose deliveries the viewer may list: None for the whole organization's (those
    who manage credentials), else the viewer's own user id."""
    return None if viewer.has(Permission.CREDENTIALS_MANAGE) else viewer.user_id
