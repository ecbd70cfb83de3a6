"""Opening a file: the same rule as seeing it in the API, and a record of every opening."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import Credential
from models.media import CredentialMedia, MediaAccess
from models.user import User
from services.credentials import policy
from services.viewer import Viewer


async def open_media(
    session: AsyncSession, viewer: Viewer, media_id: int, now: datetime, *, record: bool = True
) -> CredentialMedia | None:
    """The file if the viewer may see it, its opening recorded (with `record`) in the
    session's transaction; None when it is gone or not theirs to see (one answer for both)."""
    media = await session.get(CredentialMedia, media_id)
    credential = await session.get(Credential, media.credential_id) if media else None
    holder = await session.get(User, credential.holder_id) if credential else None
    if media is None or holder is None or not policy.can_see_details(viewer, holder):
        return None
    if not record:
        return media
    session.add(
        MediaAccess(
            organization_id=media.organization_id,
            media_id=media.id,
            credential_id=media.credential_id,
            holder_id=holder.id,
            viewer_id=viewer.user_id,
            filename=media.filename,
            at=now,
        )
    )
    return media
