"""Which rows a viewer may see, as SQL conditions: the one place that turns a viewer into
them (the rules themselves are in services.viewer and models.user)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from models.credential_filter import SearchScope
from models.permission import Permission
from models.user import User, user_visibility
from services.credentials.policy import details_reach
from services.viewer import Viewer


def users_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Users the viewer may see; a credential is visible exactly when its holder is."""
    return user_visibility(viewer.user_id, viewer.sees_all_users, viewer.overseen_company_ids)


def search_scope(viewer: Viewer) -> SearchScope:
    """Where a search may match private fields: emails where the viewer reads them (the
    user and user managers, as schema.permissions.IsSelfOrUsersManager), credential
    numbers where the viewer sees details (services.credentials.policy.details_reach)."""
    own = User.id == viewer.user_id
    emails = true() if viewer.has(Permission.USERS_MANAGE) else own
    reach = details_reach(viewer)
    if reach.everyone:
        numbers: ColumnElement[bool] = true()
    elif reach.company_ids:
        numbers = or_(own, User.company_id.in_(reach.company_ids))
    else:
        numbers = own
    return SearchScope(emails=emails, numbers=numbers)
