"""Mutations that carry files: checked before anything is stored, written before the
transaction, and the store settled after it (services.media.staging)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from strawberry import Info

from models.media import CredentialMedia
from resolvers.context import RequestContext
from resolvers.mutations import Outcome, refused, run_mutation
from services.credentials.errors import CredentialErrorCode
from services.errors import DomainError, DomainErrors
from services.media.attach import MediaChanges
from services.media.links import LinkClaims, sign
from services.media.staging import MediaStaging
from services.media.uploads import IncomingFile, MediaLimits, check_files
from services.viewer import Viewer

T = TypeVar("T")

MediaWork = Callable[[AsyncSession, Viewer, datetime, MediaChanges], Awaitable[T]]


def media_limits(context: RequestContext) -> MediaLimits:
    settings = context.settings
    return MediaLimits(settings.media_max_file_bytes, settings.media_max_files)


async def run_media_mutation(
    info: Info[RequestContext, None],
    files: Sequence[IncomingFile],
    field: str,
    work: MediaWork[T],
    remove_ids: Sequence[int] = (),
) -> Outcome[T]:
    """`work` runs in the mutation's transaction with the staged files; whatever its
    outcome, the store is left holding exactly the files committed rows name."""
    context = info.context
    viewer = context.require_viewer()
    limits = media_limits(context)
    try:
        checked = check_files(files, field, limits)
    except DomainError as error:
        return refused(context, [error])
    except DomainErrors as errors:
        return refused(context, errors.errors)
    staging = MediaStaging(context.require_media_store(), viewer.organization_id)
    committed = False
    try:
        changes = MediaChanges(
            staging=staging,
            add=await staging.stage(checked),
            remove_ids=list(remove_ids),
            field=field,
            max_files=limits.max_files,
        )
        outcome = await run_mutation(
            info, lambda session, viewer, now: work(session, viewer, now, changes)
        )
        committed = not outcome.errors
    finally:
        await staging.settle(committed, context.read)
    return outcome


@asynccontextmanager
async def releasing_media(info: Info[RequestContext, None]) -> AsyncIterator[MediaStaging]:
    """A staging for changes that only remove files (deletions): afterwards every file
    no row names any more is removed. Safe whatever the outcome, since a rolled-back
    removal leaves its rows, and so its files, in place."""
    context = info.context
    staging = MediaStaging(context.require_media_store(), context.require_viewer().organization_id)
    try:
        yield staging
    finally:
        await staging.settle(True, context.read)


def uploaded_files(values: Sequence[object] | None, field: str) -> list[IncomingFile] | DomainError:
    """The files of a multipart request; a refusal for anything else (an Upload variable
    sent as a JSON string, say)."""
    files: list[IncomingFile] = []
    for index, value in enumerate(values or []):
        if not isinstance(value, UploadFile):
            return DomainError(
                CredentialErrorCode.INVALID,
                "Files must be sent as parts of a GraphQL multipart request.",
                f"{field}.{index}",
            )
        files.append(value)
    return files


def media_url(context: RequestContext, media_id: int) -> str:
    """A link to download the file, for this viewer's token, valid for a few minutes."""
    viewer = context.require_viewer()
    expires = int(context.now().timestamp()) + context.settings.media_link_seconds
    claims = LinkClaims(media_id, viewer.organization_id, viewer.token_id, expires)
    base = str(context.request.base_url).rstrip("/")
    return f"{base}/media/{sign(context.settings.secret_key, claims)}"


async def resolve_media_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[CredentialMedia | None]:
    """Files by id, None for each one missing or whose credential's details the viewer
    may not see."""
    loader = info.context.loaders.credentials.media_by_id
    found = await loader.load_many([i for i in ids if i is not None])
    by_id = {m.id: m for m in found if m is not None}
    return [by_id.get(i) if i is not None else None for i in ids]
