"""The credential lifecycle: submit, renew, edit, approve, reject, archive, restore, delete.

Each function runs inside the caller's write transaction, checks everything before it
writes, and leaves activity and a domain event behind (services.credentials.journal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from models.activity import ActivityAction
from models.audit import AuditEntry
from models.credential import (
    ApprovalStatus,
    Credential,
    CredentialVersion,
    count_versions,
    delete_credential_rows,
    select_latest_version,
    select_live_credential,
)
from models.credential_type import CredentialType
from models.event import CredentialEventKind
from models.user import User
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.credentials.journal import Journal, snapshot
from services.credentials.settings import load_settings
from services.credentials.types import get_type
from services.credentials.validation import VersionDetails, validated
from services.errors import DomainError, DomainErrors
from services.viewer import Viewer

MAX_REASON = 2000
CONFLICT_MESSAGE = (
    "This credential changed since you read it: read it again and reapply your change."
)


@dataclass(frozen=True)
class Loaded:
    credential: Credential
    holder: User
    latest: CredentialVersion


def _not_found(field: str = "id") -> DomainError:
    return DomainError(CredentialErrorCode.NOT_FOUND, "Credential doesn't exist.", field)


def _denied(message: str) -> DomainError:
    return DomainError(CredentialErrorCode.PERMISSION_DENIED, message)


async def load(session: AsyncSession, viewer: Viewer, credential_id: int) -> Loaded:
    """The credential as the viewer may see it; one they may not see does not exist."""
    credential = await session.get(Credential, credential_id)
    holder = await session.get(User, credential.holder_id) if credential else None
    if credential is None or holder is None or not policy.can_view_holder(viewer, holder):
        raise _not_found()
    latest = await session.scalar(select_latest_version(credential))
    assert latest is not None, "a credential always has its latest version"
    return Loaded(credential, holder, latest)


def _refuse_archived(credential: Credential, doing: str) -> None:
    if credential.archived_at is not None:
        raise DomainError(
            CredentialErrorCode.ARCHIVED,
            f"This credential is archived: restore it before you {doing}.",
        )


def _status_on_submission(approvals_required: bool) -> ApprovalStatus:
    return ApprovalStatus.PENDING if approvals_required else ApprovalStatus.APPROVED


async def _holder_to_manage(session: AsyncSession, viewer: Viewer, holder_id: int) -> User:
    holder = await session.get(User, holder_id)
    if holder is None or not policy.can_view_holder(viewer, holder):
        raise DomainError(CredentialErrorCode.NOT_FOUND, "User doesn't exist.", "holderId")
    if not policy.can_manage_holder(viewer, holder):
        raise _denied("You may not submit credentials for this user.")
    if not holder.is_active:
        raise DomainError(
            CredentialErrorCode.HOLDER_INACTIVE,
            f"{holder.name} is not an active user.",
            "holderId",
        )
    return holder


def _touch(credential: Credential, now: datetime) -> None:
    """Mark the credential changed: its UPDATE checks and bumps the revision even when
    nothing else of the row differs (two changes within one clock tick included)."""
    credential.updated_at = now
    flag_modified(credential, "updated_at")


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError:
        raise DomainError(CredentialErrorCode.CONFLICT, CONFLICT_MESSAGE) from None


@asynccontextmanager
async def _becoming_live(session: AsyncSession, holder: User) -> AsyncIterator[None]:
    """Changes that make a credential live, flushed in a savepoint: when a concurrent
    transaction made another live credential of the same holder and type first, the
    unique index refuses it and the caller gets DUPLICATE_CREDENTIAL, not a crash."""
    try:
        async with session.begin_nested():
            yield
            await _flush(session)
    except IntegrityError:
        raise DomainError(
            CredentialErrorCode.DUPLICATE_CREDENTIAL,
            f"{holder.name} already has a live credential of this type: add a version to "
            "it, or archive it first.",
            "typeId",
        ) from None


async def create_credential(
    session: AsyncSession,
    viewer: Viewer,
    type_id: int,
    holder_id: int,
    details: VersionDetails,
    now: datetime,
) -> Credential:
    try:
        credential_type = await get_type(session, type_id)
    except DomainError as error:
        raise replace_field(error, "typeId") from None
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
    async with _becoming_live(session, holder):
        session.add(credential)
    version = _new_version(credential, 1, details, settings.approvals_required, viewer, now)
    session.add(version)
    await session.flush()
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.CREATED, version)
    journal.field_changes(credential, version, {})
    journal.event(credential, CredentialEventKind.SUBMITTED, version)
    return credential


def replace_field(error: DomainError, field: str) -> DomainError:
    return DomainError(error.code, error.message, field)


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


def _check_revision(credential: Credential, expected_revision: int | None) -> None:
    if expected_revision is not None and expected_revision != credential.revision:
        raise DomainError(CredentialErrorCode.CONFLICT, CONFLICT_MESSAGE, "expectedRevision")


async def add_version(
    session: AsyncSession,
    viewer: Viewer,
    credential_id: int,
    details: VersionDetails,
    now: datetime,
    expected_revision: int | None = None,
) -> Credential:
    loaded = await load(session, viewer, credential_id)
    credential = loaded.credential
    if not policy.can_manage_holder(viewer, loaded.holder):
        raise _denied("You may not change this user's credentials.")
    _refuse_archived(credential, "add a version")
    _check_revision(credential, expected_revision)
    details = validated(details, await get_type(session, credential.type_id), propose_expiry=True)
    settings = await load_settings(session, viewer.organization_id)
    number = credential.latest_version_number + 1
    version = _new_version(credential, number, details, settings.approvals_required, viewer, now)
    session.add(version)
    credential.latest_version_number = number
    _touch(credential, now)
    await _flush(session)
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.VERSION_ADDED, version, new=number)
    journal.field_changes(credential, version, snapshot(loaded.latest))
    journal.event(credential, CredentialEventKind.VERSION_ADDED, version)
    return credential


async def edit_latest_version(
    session: AsyncSession,
    viewer: Viewer,
    credential_id: int,
    expected_revision: int,
    changes: dict[str, Any],
    now: datetime,
) -> Credential:
    """`changes` maps issue_date / expiry_date / credential_number to new values (None
    clears); fields left out keep their values."""
    loaded = await load(session, viewer, credential_id)
    credential, version = loaded.credential, loaded.latest
    if not policy.can_manage_holder(viewer, loaded.holder):
        raise _denied("You may not change this user's credentials.")
    _refuse_archived(credential, "edit it")
    _check_revision(credential, expected_revision)
    before = snapshot(version)
    details = validated(
        replace(VersionDetails(**before), **changes),
        await get_type(session, credential.type_id),
        propose_expiry=False,  # an edit that clears the expiry date clears it
    )
    if asdict(details) == before:
        return credential  # nothing to change, nothing to record
    for field, value in asdict(details).items():
        setattr(version, field, value)
    version.updated_at = now
    journal = Journal(session, viewer.user_id, now)
    changed = journal.field_changes(credential, version, before)
    settings = await load_settings(session, viewer.organization_id)
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
    _touch(credential, now)
    await _flush(session)
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


async def _reviewable(session: AsyncSession, viewer: Viewer, credential_id: int) -> Loaded:
    loaded = await load(session, viewer, credential_id)
    if not policy.can_review(viewer, loaded.holder):
        if viewer.user_id == loaded.holder.id:
            raise DomainError(
                CredentialErrorCode.OWN_CREDENTIAL,
                "Nobody approves or rejects their own credential.",
            )
        raise _denied("Approving and rejecting needs the CREDENTIALS_MANAGE permission.")
    _refuse_archived(loaded.credential, "approve or reject it")
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
    _touch(credential, now)
    await _flush(session)
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
    journal.event(
        credential,
        CredentialEventKind.APPROVED if approved else CredentialEventKind.REJECTED,
        version,
    )
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
    if len(reason) > MAX_REASON:
        raise DomainError(
            CredentialErrorCode.INVALID, f"The reason is over {MAX_REASON} characters.", "reason"
        )
    return await _review(session, viewer, credential_id, now, ApprovalStatus.REJECTED, reason)


async def archive(
    session: AsyncSession, viewer: Viewer, credential_id: int, now: datetime
) -> Credential:
    loaded = await load(session, viewer, credential_id)
    credential = loaded.credential
    if not policy.can_archive(viewer, loaded.holder):
        raise _denied("You may not archive this user's credentials.")
    _refuse_archived_twice(credential)
    credential.archived_at = now
    credential.archived_by_id = viewer.user_id
    _touch(credential, now)
    await _flush(session)
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.ARCHIVED)
    journal.event(credential, CredentialEventKind.ARCHIVED)
    return credential


def _refuse_archived_twice(credential: Credential) -> None:
    if credential.archived_at is not None:
        raise DomainError(CredentialErrorCode.ARCHIVED, "This credential is already archived.")


async def restore(
    session: AsyncSession, viewer: Viewer, credential_id: int, now: datetime
) -> Credential:
    loaded = await load(session, viewer, credential_id)
    credential = loaded.credential
    if not policy.can_archive(viewer, loaded.holder):
        raise _denied("You may not restore this user's credentials.")
    if credential.archived_at is None:
        raise DomainError(CredentialErrorCode.NOT_ARCHIVED, "This credential is not archived.")
    if await session.scalar(select_live_credential(credential.holder_id, credential.type_id)):
        raise DomainError(
            CredentialErrorCode.DUPLICATE_CREDENTIAL,
            f"{loaded.holder.name} has another credential of this type: archive that one first.",
        )
    async with _becoming_live(session, loaded.holder):
        credential.archived_at = None
        credential.archived_by_id = None
        _touch(credential, now)
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.RESTORED)
    journal.event(credential, CredentialEventKind.RESTORED)
    return credential


async def delete(
    session: AsyncSession, viewer: Viewer, credential_id: int, confirm: bool, now: datetime
) -> int:
    """Permanently delete an archived credential; returns its id. Only an audit entry stays."""
    loaded = await load(session, viewer, credential_id)
    credential, holder = loaded.credential, loaded.holder
    if not policy.can_delete(viewer):
        raise _denied("Deleting credentials needs USERS_MANAGE or CREDENTIALS_MANAGE.")
    if credential.archived_at is None:
        raise DomainError(
            CredentialErrorCode.NOT_ARCHIVED, "Archive the credential before you delete it."
        )
    if not confirm:
        raise DomainError(
            CredentialErrorCode.CONFIRMATION_REQUIRED,
            "Deleting is permanent: pass confirm: true to delete.",
            "confirm",
        )
    credential_type = await session.get(CredentialType, credential.type_id)
    versions = await session.scalar(count_versions(credential.id))
    session.add(
        AuditEntry(
            organization_id=credential.organization_id,
            action="CREDENTIAL_DELETED",
            actor_id=viewer.user_id,
            at=now,
            details={
                "credential_id": credential.id,
                "type_id": credential.type_id,
                "type_name": credential_type.name if credential_type else None,
                "holder_id": holder.id,
                "holder_name": holder.name,
                "holder_email": holder.email,
                "versions": versions,
            },
        )
    )
    Journal(session, viewer.user_id, now).event(credential, CredentialEventKind.DELETED)
    await session.flush()
    await session.execute(delete_credential_rows(credential.id))
    session.expunge(credential)
    return credential.id


@dataclass(frozen=True)
class BulkOutcome:
    credential_id: int
    error: DomainError | None = None


async def for_each(
    session: AsyncSession,
    credential_ids: list[int],
    action: Callable[[int], Awaitable[object]],
) -> list[BulkOutcome]:
    """Apply `action` to each id in a savepoint of its own: one refusal never undoes or
    blocks the others, and the outcome of each id is reported."""
    outcomes = []
    for credential_id in dict.fromkeys(credential_ids):
        try:
            async with session.begin_nested():
                await action(credential_id)
        except DomainError as error:
            outcomes.append(BulkOutcome(credential_id, error))
        except DomainErrors as errors:
            outcomes.append(BulkOutcome(credential_id, errors.errors[0]))
        else:
            outcomes.append(BulkOutcome(credential_id))
    return outcomes
