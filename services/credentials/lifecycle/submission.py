"""Submitting, renewing and editing credentials."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import ActivityAction
from models.credential import (
    ApprovalStatus,
    Credential,
    CredentialVersion,
    select_live_credential,
)
from models.event import CredentialEventKind
from models.user import User
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.credentials.journal import Journal, snapshot
from services.credentials.lifecycle.loading import (
    becoming_live,
    check_revision,
    denied,
    flush,
    load,
    refuse_archived,
    touch,
)
from services.credentials.settings import load_settings
from services.credentials.types import get_type
from services.credentials.validation import VersionDetails, validated
from services.errors import DomainError
from services.media.attach import MediaChanges, apply_media
from services.viewer import Viewer


def _status_on_submission(approvals_required: bool) -> ApprovalStatus:
    return ApprovalStatus.PENDING if approvals_required else ApprovalStatus.APPROVED


async def _holder_to_manage(session: AsyncSession, viewer: Viewer, holder_id: int) -> User:
    holder = await session.get(User, holder_id)
    if holder is None or not policy.can_view_holder(viewer, holder):
        raise DomainError(CredentialErrorCode.NOT_FOUND, "User doesn't exist.", "holderId")
    if not policy.can_manage_holder(viewer, holder):
        raise denied("You may not submit credentials for this user.")
    if not holder.is_active:
        raise DomainError(
            CredentialErrorCode.HOLDER_INACTIVE,
            f"{holder.name} is not an active user.",
            "holderId",
        )
    return holder


async def create_credential(
    session: AsyncSession,
    viewer: Viewer,
    type_id: int,
    holder_id: int,
    details: VersionDetails,
    now: datetime,
    media: MediaChanges | None = None,
) -> Credential:
    try:
        credential_type = await get_type(session, type_id)
    except DomainError as error:
        raise DomainError(error.code, error.message, "typeId") from None
    holder = await _holder_to_manage(session, viewer, holder_id)
    if await session.scalar(select_live_credential(holder.id, credential_type.id)):
        raise DomainError(
            CredentialErrorCode.DUPLICATE_CREDENTIAL,
            f"{holder.name} already has a {credential_type.name} credential: add a version "
            "to it instead.",
            "typeId",
        )
    details = validated(details, credential_type, propose_expiry=True)
    settings = await load_settings(session, viewer.organization_id)
    credential = Credential(
        organization_id=viewer.organization_id,
        type_id=credential_type.id,
        holder_id=holder.id,
        latest_version_number=1,
        created_by_id=viewer.user_id,
        created_at=now,
        updated_at=now,
    )
    async with becoming_live(session, holder):
        session.add(credential)
    version = _new_version(credential, 1, details, settings.approvals_required, viewer, now)
    session.add(version)
    await session.flush()
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.CREATED, version)
    journal.field_changes(credential, version, {})
    await apply_media(
        session,
        journal,
        credential,
        version,
        media or MediaChanges(),
        credential_type,
        settings,
        submission=True,
    )
    journal.event(credential, CredentialEventKind.SUBMITTED, version)
    return credential


def _new_version(
    credential: Credential,
    number: int,
    details: VersionDetails,
    approvals_required: bool,
    viewer: Viewer,
    now: datetime,
) -> CredentialVersion:
    return CredentialVersion(
        organization_id=credential.organization_id,
        credential_id=credential.id,
        number=number,
        issue_date=details.issue_date,
        expiry_date=details.expiry_date,
        credential_number=details.credential_number,
        approval_status=_status_on_submission(approvals_required),
        submitted_by_id=viewer.user_id,
        created_at=now,
        updated_at=now,
    )


async def add_version(
    session: AsyncSession,
    viewer: Viewer,
    credential_id: int,
    details: VersionDetails,
    now: datetime,
    expected_revision: int | None = None,
    media: MediaChanges | None = None,
) -> Credential:
    loaded = await load(session, viewer, credential_id)
    credential = loaded.credential
    if not policy.can_manage_holder(viewer, loaded.holder):
        raise denied("You may not change this user's credentials.")
    refuse_archived(credential, "add a version")
    check_revision(credential, expected_revision)
    credential_type = await get_type(session, credential.type_id)
    details = validated(details, credential_type, propose_expiry=True)
    settings = await load_settings(session, viewer.organization_id)
    number = credential.latest_version_number + 1
    version = _new_version(credential, number, details, settings.approvals_required, viewer, now)
    session.add(version)
    credential.latest_version_number = number
    touch(credential, now)
    await flush(session)
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.VERSION_ADDED, version, new=number)
    journal.field_changes(credential, version, snapshot(loaded.latest))
    await apply_media(
        session,
        journal,
        credential,
        version,
        media or MediaChanges(),
        credential_type,
        settings,
        submission=True,
    )
    journal.event(credential, CredentialEventKind.VERSION_ADDED, version)
    return credential


async def edit_latest_version(
    session: AsyncSession,
    viewer: Viewer,
    credential_id: int,
    expected_revision: int,
    changes: dict[str, Any],
    now: datetime,
    media: MediaChanges | None = None,
) -> Credential:
    """`changes` maps issue_date / expiry_date / credential_number to new values (None
    clears); fields left out keep their values. `media` adds and removes files."""
    loaded = await load(session, viewer, credential_id)
    credential, version = loaded.credential, loaded.latest
    if not policy.can_manage_holder(viewer, loaded.holder):
        raise denied("You may not change this user's credentials.")
    refuse_archived(credential, "edit it")
    check_revision(credential, expected_revision)
    media = media or MediaChanges()
    before = snapshot(version)
    credential_type = await get_type(session, credential.type_id)
    details = validated(
        replace(VersionDetails(**before), **changes),
        credential_type,
        propose_expiry=False,  # an edit that clears the expiry date clears it
    )
    if asdict(details) == before and media.empty:
        return credential  # nothing to change, nothing to record
    for field, value in asdict(details).items():
        setattr(version, field, value)
    version.updated_at = now
    journal = Journal(session, viewer.user_id, now)
    changed = journal.field_changes(credential, version, before)
    settings = await load_settings(session, viewer.organization_id)
    if await apply_media(
        session, journal, credential, version, media, credential_type, settings, submission=False
    ):
        changed.append("media")
    status = _status_after_edit(
        version.approval_status,
        settings.approvals_required,
        policy.can_review(viewer, loaded.holder),
    )
    if status is not version.approval_status:
        journal.action(
            credential,
            ActivityAction.FIELD_CHANGED,
            version,
            field="approval_status",
            old=version.approval_status.value,
            new=status.value,
        )
        version.approval_status = status
        version.reviewed_by_id = version.reviewed_at = version.rejection_reason = None
    touch(credential, now)
    await flush(session)
    journal.event(credential, CredentialEventKind.VERSION_EDITED, version, fields=changed)
    return credential


def _status_after_edit(
    status: ApprovalStatus, approvals_required: bool, editor_may_review: bool
) -> ApprovalStatus:
    """A correction of a rejected version is a resubmission; a change to an approved one
    by someone who could not have approved it needs review again."""
    if status is ApprovalStatus.REJECTED:
        return _status_on_submission(approvals_required)
    if status is ApprovalStatus.APPROVED and approvals_required and not editor_may_review:
        return ApprovalStatus.PENDING
    return status
