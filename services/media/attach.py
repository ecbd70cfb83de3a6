"""Adding files to a version and removing them, under the type's and the organization's
rules, with one activity row per file like any other change of the version."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from models.activity import ActivityAction
from models.credential import Credential, CredentialVersion
from models.credential_settings import CredentialSettings
from models.credential_type import CredentialType, FieldRule
from models.media import CredentialMedia, select_media_of_versions
from services.credentials.errors import CredentialErrorCode
from services.credentials.journal import Journal
from services.errors import DomainError
from services.media.staging import MediaStaging, StagedFile

MEDIA_FIELD = "media"


@dataclass
class MediaChanges:
    """Files to add (already staged) and ids of the version's files to remove; `field` is
    the input that carried the new files, named in errors."""

    staging: MediaStaging | None = None
    add: list[StagedFile] = field(default_factory=list)
    remove_ids: list[int] = field(default_factory=list)
    field: str = "media"
    max_files: int = 10

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove_ids


def media_required(credential_type: CredentialType, settings: CredentialSettings) -> bool:
    """Files are required when the type requires them and the organization has not made
    media optional."""
    return credential_type.media_rule is FieldRule.REQUIRED and not settings.media_optional


async def apply_media(
    session: AsyncSession,
    journal: Journal,
    credential: Credential,
    version: CredentialVersion,
    changes: MediaChanges,
    credential_type: CredentialType,
    settings: CredentialSettings,
    *,
    submission: bool,
) -> bool:
    """Check and apply the changes to the version's files; whether any file changed. A
    submission must satisfy the rules; an edit that leaves the files alone is not held to
    a rule made after the version was submitted."""
    if changes.add and credential_type.media_rule is FieldRule.NOT_USED:
        raise DomainError(
            CredentialErrorCode.NOT_USED,
            f"{credential_type.name} does not use photos or documents.",
            changes.field,
        )
    current = (
        [] if submission else list(await session.scalars(select_media_of_versions([version.id])))
    )
    by_id = {m.id: m for m in current}
    unknown = [i for i in changes.remove_ids if i not in by_id]
    if unknown:
        raise DomainError(
            CredentialErrorCode.NOT_FOUND,
            "The latest version has no file with that id.",
            "removeMediaIds",
        )
    removed = [by_id[i] for i in dict.fromkeys(changes.remove_ids)]
    count = len(current) - len(removed) + len(changes.add)
    if count > changes.max_files:
        raise DomainError(
            CredentialErrorCode.TOO_MANY_MEDIA,
            f"A version holds at most {changes.max_files} files; this would make {count}.",
            changes.field,
        )
    if (
        count == 0
        and (submission or not changes.empty)
        and media_required(credential_type, settings)
    ):
        raise DomainError(
            CredentialErrorCode.REQUIRED,
            f"A photo or PDF of the {credential_type.name} is required.",
            changes.field,
        )
    for media in removed:
        await session.delete(media)
        journal.action(
            credential, ActivityAction.FIELD_CHANGED, version, field=MEDIA_FIELD, old=media.filename
        )
    if removed and changes.staging is not None:
        changes.staging.release(m.content_key for m in removed)
    for staged in changes.add:
        session.add(
            CredentialMedia(
                organization_id=credential.organization_id,
                credential_id=credential.id,
                version_id=version.id,
                content_key=staged.key,
                filename=staged.filename,
                content_type=staged.content_type,
                size=staged.size,
                uploaded_by_id=journal.actor_id,
                created_at=journal.now,
            )
        )
        journal.action(
            credential,
            ActivityAction.FIELD_CHANGED,
            version,
            field=MEDIA_FIELD,
            new=staged.filename,
        )
    return not changes.empty
