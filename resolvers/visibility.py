"""Which rows a viewer may see, as SQL conditions: the one place that turns a viewer into
them (the rules themselves are in services.viewer and models.user)."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from models.user import user_visibility
from services.viewer import Viewer


def users_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Users the viewer may see; a credential is visible exactly when its holder is."""
    return user_visibility(viewer.user_id, viewer.sees_all_users, viewer.overseen_company_ids)
