"""Archiving, restoring and permanently deleting credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import ActivityAction
from models.audit import AuditEntry
from models.credential import (
    Credential,
    count_versions,
    delete_credential_rows,
    select_live_credential,
)
from models.credential_type import CredentialType
from models.event import CredentialEventKind
from models.media import select_media_of_credential
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.credentials.journal import Journal
from services.credentials.lifecycle.loading import becoming_live, denied, flush, load, touch
from services.errors import DomainError
from services.media.staging import MediaStaging
from services.viewer import Viewer


async def archive(
    session: AsyncSession, viewer: Viewer, credential_id: int, now: datetime
) -> Credential:
    loaded = await load(session, viewer, credential_id)
    credential = loaded.credential
    if not policy.can_archive(viewer, loaded.holder):
        raise denied("You may not archive this user's credentials.")
    _refuse_archived_twice(credential)
    credential.archived_at = now
    credential.archived_by_id = viewer.user_id
    touch(credential, now)
    await flush(session)
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
        raise denied("You may not restore this user's credentials.")
    if credential.archived_at is None:
        raise DomainError(CredentialErrorCode.NOT_ARCHIVED, "This credential is not archived.")
    if await session.scalar(select_live_credential(credential.holder_id, credential.type_id)):
        raise DomainError(
            CredentialErrorCode.DUPLICATE_CREDENTIAL,
            f"{loaded.holder.name} has another credential of this type: archive that one first.",
        )
    async with becoming_live(session, loaded.holder):
        credential.archived_at = None
        credential.archived_by_id = None
        touch(credential, now)
    journal = Journal(session, viewer.user_id, now)
    journal.action(credential, ActivityAction.RESTORED)
    journal.event(credential, CredentialEventKind.RESTORED)
    return credential


async def delete(
    session: AsyncSession,
    viewer: Viewer,
    credential_id: int,
    confirm: bool,
    now: datetime,
    staging: MediaStaging | None = None,
) -> int:
    """Permanently delete an archived credential; returns its id. Only an audit entry stays.
    Its files are released to `staging`: removed once committed, unless another version
    still holds the same content."""
    loaded = await load(session, viewer, credential_id)
    credential, holder = loaded.credential, loaded.holder
    if not policy.can_delete(viewer):
        raise denied("Deleting credentials needs USERS_MANAGE or CREDENTIALS_MANAGE.")
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
    if staging is not None:
        media = await session.scalars(select_media_of_credential(credential.id))
        staging.release(m.content_key for m in media)
    await session.flush()
    await session.execute(delete_credential_rows(credential.id))
    session.expunge(credential)
    return credential.id
