"""Who sees a credential's sensitive details: declared once, used on every such field."""

from __future__ import annotations

from typing import Any

from strawberry import Info
from strawberry.permission import BasePermission

from resolvers.context import RequestContext
from services.credentials.policy import can_see_details


class CanSeeCredentialDetails(BasePermission):
    """Credential number, media and rejection reason: the holder, those who manage the
    holder's credentials, and reviewers. Others get null."""

    message = "Only the holder and those who manage their credentials may see this field."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    async def has_permission(self, source: Any, info: Info[RequestContext, None], **_: Any) -> bool:
        viewer = info.context.viewer
        if viewer is None:
            return False
        holder = await info.context.loaders.user_by_id.load(source.holder_id)
        return holder is not None and can_see_details(viewer, holder)


class CanSeeActivityValue(CanSeeCredentialDetails):
    """An activity entry's old and new values: for a sensitive field, only for those who
    may see that field on the version itself; every other value for every viewer."""

    SENSITIVE_FIELDS = frozenset({"credentialNumber", "media", "rejectionReason"})

    async def has_permission(
        self, source: Any, info: Info[RequestContext, None], **kwargs: Any
    ) -> bool:
        if source.field not in self.SENSITIVE_FIELDS:
            return True
        return await super().has_permission(source, info, **kwargs)
