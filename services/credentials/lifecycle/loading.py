"""Loading a credential as the viewer may see it, and the guards every change shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from models.credential import (
    Credential,
    CredentialVersion,
    select_latest_version,
)
from models.user import User
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.errors import DomainError
from services.viewer import Viewer

CONFLICT_MESSAGE = (
    "This credential changed since you read it: read it again and reapply your change."
)


@dataclass(frozen=True)
class Loaded:
    credential: Credential
    holder: User
    latest: CredentialVersion


def not_found(field: str = "id") -> DomainError:
    return DomainError(CredentialErrorCode.NOT_FOUND, "Credential doesn't exist.", field)


def denied(message: str) -> DomainError:
    return DomainError(CredentialErrorCode.PERMISSION_DENIED, message)


async def load(session: AsyncSession, viewer: Viewer, credential_id: int) -> Loaded:
    """The credential as the viewer may see it; one they may not see does not exist."""
    credential = await session.get(Credential, credential_id)
    holder = await session.get(User, credential.holder_id) if credential else None
    if credential is None or holder is None or not policy.can_view_holder(viewer, holder):
        raise not_found()
    latest = await session.scalar(select_latest_version(credential))
    assert latest is not None, "a credential always has its latest version"
    return Loaded(credential, holder, latest)


def refuse_archived(credential: Credential, doing: str) -> None:
    if credential.archived_at is not None:
        raise DomainError(
            CredentialErrorCode.ARCHIVED,
            f"This credential is archived: restore it before you {doing}.",
        )


def touch(credential: Credential, now: datetime) -> None:
    """Mark the credential changed: its UPDATE checks and bumps the revision even when
    nothing else of the row differs (two changes within one clock tick included)."""
    credential.updated_at = now
    flag_modified(credential, "updated_at")


async def flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError:
        raise DomainError(CredentialErrorCode.CONFLICT, CONFLICT_MESSAGE) from None


@asynccontextmanager
async def becoming_live(session: AsyncSession, holder: User) -> AsyncIterator[None]:
    """Changes that make a credential live, flushed in a savepoint: when a concurrent
    transaction made another live credential of the same holder and type first, the
    unique index refuses it and the caller gets DUPLICATE_CREDENTIAL, not a crash."""
    try:
        async with session.begin_nested():
            yield
            await flush(session)
    except IntegrityError:
        raise DomainError(
            CredentialErrorCode.DUPLICATE_CREDENTIAL,
            f"{holder.name} already has a live credential of this type: add a version to "
            "it, or archive it first.",
            "typeId",
        ) from None


def check_revision(credential: Credential, expected_revision: int | None) -> None:
    if expected_revision is not None and expected_revision != credential.revision:
        raise DomainError(CredentialErrorCode.CONFLICT, CONFLICT_MESSAGE, "expectedRevision")
