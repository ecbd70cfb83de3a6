"""The organization's credential settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential_settings import CredentialSettings, select_settings
from services.credentials.errors import CredentialErrorCode
from services.credentials.policy import can_configure
from services.errors import DomainError
from services.viewer import Viewer

MAX_EXPIRING_SOON_DAYS = 366


async def load_settings(session: AsyncSession, organization_id: int) -> CredentialSettings:
    """The saved settings, or the defaults (not added to the session) when none were saved."""
    saved = await session.scalar(select_settings())
    return saved if saved is not None else CredentialSettings.defaults(organization_id)


async def update_settings(
    session: AsyncSession,
    viewer: Viewer,
    now: datetime,
    *,
    approvals_required: bool | None = None,
    media_optional: bool | None = None,
    expiring_soon_days: int | None = None,
) -> CredentialSettings:
    if not can_configure(viewer):
        raise DomainError(
            CredentialErrorCode.PERMISSION_DENIED,
            "Changing credential settings needs the CREDENTIALS_MANAGE permission.",
        )
    if expiring_soon_days is not None and not 0 <= expiring_soon_days <= MAX_EXPIRING_SOON_DAYS:
        raise DomainError(
            CredentialErrorCode.INVALID,
            f"The expiring-soon window must be 0 to {MAX_EXPIRING_SOON_DAYS} days.",
            "expiringSoonDays",
        )
    settings = await session.scalar(select_settings())
    if settings is None:
        settings = CredentialSettings.defaults(viewer.organization_id)
        session.add(settings)
    if approvals_required is not None:
        settings.approvals_required = approvals_required
    if media_optional is not None:
        settings.media_optional = media_optional
    if expiring_soon_days is not None:
        settings.expiring_soon_days = expiring_soon_days
    settings.updated_at = now
    await session.flush()
    return settings
