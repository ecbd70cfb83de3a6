"""The organization's credential settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
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


async def _saved_settings(session: AsyncSession, organization_id: int) -> CredentialSettings:
    """The organization's settings row, created with the defaults on first save; when a
    concurrent first save wins the race, its row."""
    settings = await session.scalar(select_settings())
    if settings is not None:
        return settings
    try:
        async with session.begin_nested():
            settings = CredentialSettings.defaults(organization_id)
            session.add(settings)
        return settings
    except IntegrityError:
        saved = await session.scalar(select_settings())
        assert saved is not None, "the row that won the race is visible after it committed"
        return saved


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
    settings = await _saved_settings(session, viewer.organization_id)
    if approvals_required is not None:
        settings.approvals_required = approvals_required
    if media_optional is not None:
        settings.media_optional = media_optional
    if expiring_soon_days is not None:
        settings.expiring_soon_days = expiring_soon_days
    settings.updated_at = now
    await session.flush()
    return settings
