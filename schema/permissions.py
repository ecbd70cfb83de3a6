"""Field-level permission classes: each access rule is declared once, here."""

from __future__ import annotations

from typing import Any

from strawberry import Info
from strawberry.permission import BasePermission

from resolvers.context import RequestContext
from services.credentials import policy


class IsSelfOrUsersManager(BasePermission):
    """Personal details of a user: for that user and for "Platform management: Users"."""

    message = "Only the user themselves and user managers may see this field."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[RequestContext, None], **_: Any) -> bool:
        viewer = info.context.viewer
        if viewer is None:
            return False
        return policy.can_see_email(viewer, source.id)


class MayReadRecipientAddress(BasePermission):
    """The address a delivery went to is the recipient's email: the same readers."""

    message = "Only the recipient themselves and user managers may see this field."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[RequestContext, None], **_: Any) -> bool:
        viewer = info.context.viewer
        if viewer is None:
            return False
        return policy.can_see_email(viewer, source.recipient_user_id)
