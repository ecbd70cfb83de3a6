"""Approving and rejecting the latest version of a credential."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import ActivityAction
from models.credential import (
    ApprovalStatus,
    Credential,
)
from models.event import CredentialEventKind
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.credentials.journal import Journal
from services.credentials.lifecycle.loading import (
    Loaded,
    denied,
    flush,
    load,
    refuse_archived,
    touch,
)
from services.errors import DomainError
from services.text import has_control_characters
from services.viewer import Viewer

MAX_REASON = 2000


async def _reviewable(session: AsyncSession, viewer: Viewer, credential_id: int) -> Loaded:
    loaded = await load(session, viewer, credential_id)
    if not policy.can_review(viewer, loaded.holder):
        if viewer.user_id == loaded.holder.id:
            raise DomainError(
                CredentialErrorCode.OWN_CREDENTIAL,
                "Nobody approves or rejects their own credential.",
            )
        raise denied("Approving and rejecting needs the CREDENTIALS_MANAGE permission.")
    refuse_archived(loaded.credential, "approve or reject it")
    status = loaded.latest.approval_status
    if status is not ApprovalStatus.PENDING:
        raise DomainError(
            CredentialErrorCode.NOT_PENDING,
            "The latest version is already approved: approval is final."
            if status is ApprovalStatus.APPROVED
            else "The latest version was rejected: the holder must resubmit it first.",
        )
    return loaded


async def _review(
    session: AsyncSession,
    viewer: Viewer,
    credential_id: int,
    now: datetime,
    outcome: ApprovalStatus,
    reason: str | None = None,
) -> Credential:
    loaded = await _reviewable(session, viewer, credential_id)
    credential, version = loaded.credential, loaded.latest
    version.approval_status = outcome
    version.reviewed_by_id = viewer.user_id
    version.reviewed_at = now
    version.rejection_reason = reason
    version.updated_at = now
    touch(credential, now)
    await flush(session)
    journal = Journal(session, viewer.user_id, now)
    approved = outcome is ApprovalStatus.APPROVED
    journal.action(
        credential,
        ActivityAction.APPROVED if approved else ActivityAction.REJECTED,
        version,
        field="approval_status",
        old=ApprovalStatus.PENDING.value,
        new=outcome.value,
    )
    if reason is not None:
        # Kept in the activity: the version's own reason is cleared when it is resubmitted.
        journal.action(
            credential, ActivityAction.FIELD_CHANGED, version, field="rejection_reason", new=reason
        )
    if approved:
        journal.event(credential, CredentialEventKind.APPROVED, version)
    else:
        journal.event(credential, CredentialEventKind.REJECTED, version, reason=reason)
    return credential


async def approve(
    session: AsyncSession, viewer: Viewer, credential_id: int, now: datetime
) -> Credential:
    return await _review(session, viewer, credential_id, now, ApprovalStatus.APPROVED)


async def reject(
    session: AsyncSession, viewer: Viewer, credential_id: int, reason: str, now: datetime
) -> Credential:
    reason = reason.strip()
    if not reason:
        raise DomainError(
            CredentialErrorCode.REQUIRED,
            "A reason is required: the holder reads it when they resubmit.",
            "reason",
        )
    if has_control_characters(reason, multiline=True):
        raise DomainError(
            CredentialErrorCode.INVALID,
            "The reason must not contain control characters.",
            "reason",
        )
    if len(reason) > MAX_REASON:
        raise DomainError(
            CredentialErrorCode.INVALID, f"The reason is over {MAX_REASON} characters.", "reason"
        )
    return await _review(session, viewer, credential_id, now, ApprovalStatus.REJECTED, reason)
