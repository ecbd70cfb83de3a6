"""Mutations of the credential lifecycle. Each returns the credential (or what was deleted)
and `errors`: an empty list on success, typed codes when refused (then nothing changed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, Info
from strawberry.file_uploads import Upload

from models.credential import Credential
from resolvers.context import RequestContext
from resolvers.media import releasing_media, run_media_mutation, uploaded_files
from resolvers.mutations import Outcome, run_mutation
from schema.credential import CredentialNode
from schema.credential_errors import CredentialError
from schema.ids import key_of
from schema.media import MEDIA_TYPE_NAME
from services.credentials import lifecycle
from services.credentials.errors import CredentialErrorCode
from services.credentials.validation import VersionDetails
from services.errors import DomainError
from services.viewer import Viewer

MAX_BULK_IDS = 100
MEDIA_HELP = (
    "Photos (JPEG, PNG, WebP, HEIC) or PDF scans, sent as a GraphQL multipart request with "
    "the header 'GraphQL-Require-Preflight: 1'. Required when the type requires media and "
    "the organization has not made media optional."
)


@strawberry.input
class CreateCredentialInput:
    type_id: strawberry.ID
    holder_id: strawberry.ID = strawberry.field(
        description="The user the credential belongs to: yourself, or someone you manage."
    )
    issue_date: date | None = None
    expiry_date: date | None = strawberry.field(
        default=None,
        description="Left out, it is proposed from the type's default validity period.",
    )
    credential_number: str | None = None
    media: list[Upload] | None = strawberry.field(default=None, description=MEDIA_HELP)


@strawberry.input
class AddCredentialVersionInput:
    credential_id: strawberry.ID
    issue_date: date | None = None
    expiry_date: date | None = None
    credential_number: str | None = None
    expected_revision: int | None = strawberry.field(
        default=None, description="When given, refused with CONFLICT if the credential changed."
    )
    media: list[Upload] | None = strawberry.field(
        default=None, description=MEDIA_HELP + " The new version starts without files."
    )


@strawberry.input(description="Fields left out keep their values; null clears one.")
class EditLatestCredentialVersionInput:
    credential_id: strawberry.ID
    expected_revision: int = strawberry.field(
        description="The credential's revision you read: a concurrent change gives CONFLICT."
    )
    issue_date: date | None = UNSET
    expiry_date: date | None = UNSET
    credential_number: str | None = UNSET
    add_media: list[Upload] | None = strawberry.field(
        default=None, description="Files to add to the version (as for media)."
    )
    remove_media_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Ids of the version's files to remove."
    )

    def changes(self) -> dict[str, object]:
        given = {
            "issue_date": self.issue_date,
            "expiry_date": self.expiry_date,
            "credential_number": self.credential_number,
        }
        return {field: value for field, value in given.items() if value is not UNSET}


@strawberry.type
class CredentialPayload:
    credential: CredentialNode | None = None
    errors: list[CredentialError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteCredentialPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[CredentialError] = strawberry.field(default_factory=list)


@strawberry.type
class BulkCredentialResult:
    id: strawberry.ID
    ok: bool
    credential: CredentialNode | None = strawberry.field(
        description="The credential after the change; null when deleted or refused."
    )
    errors: list[CredentialError]


@strawberry.type
class BulkCredentialPayload:
    results: list[BulkCredentialResult] = strawberry.field(
        description="One result per distinct id, in the order given."
    )
    errors: list[CredentialError] = strawberry.field(
        default_factory=list, description="Refusals of the whole request."
    )


# A lifecycle change of one credential: (session, viewer, credential id, now).
CredentialAction = Callable[[AsyncSession, Viewer, int, datetime], Awaitable[Credential]]


async def _credential_mutation(
    info: Info[RequestContext, None],
    global_id: strawberry.ID,
    field: str,
    action: CredentialAction,
) -> CredentialPayload:
    credential_id = key_of(global_id, "Credential")
    if credential_id is None:
        return CredentialPayload(errors=[CredentialError.not_found(field)])
    outcome = await run_mutation(
        info, lambda session, viewer, now: action(session, viewer, credential_id, now)
    )
    return _payload(outcome, id_argument=field)


def _payload(outcome: Outcome[Credential], id_argument: str = "id") -> CredentialPayload:
    if outcome.value is None:
        return CredentialPayload(errors=CredentialError.many(outcome.errors, id_argument))
    return CredentialPayload(credential=CredentialNode.from_model(outcome.value))


BulkAction = Callable[[AsyncSession, Viewer, int, datetime], Awaitable[object]]


async def _bulk(
    info: Info[RequestContext, None], ids: list[strawberry.ID], action: BulkAction
) -> BulkCredentialPayload:
    if len(ids) > MAX_BULK_IDS:
        error = CredentialError(
            code=CredentialErrorCode.INVALID,
            field="ids",
            message=f"At most {MAX_BULK_IDS} ids at once; got {len(ids)}.",
        )
        return BulkCredentialPayload(results=[], errors=[error])
    keys = {given: key_of(given, "Credential") for given in dict.fromkeys(ids)}
    valid = [key for key in keys.values() if key is not None]

    async def apply(
        session: AsyncSession, viewer: Viewer, now: datetime
    ) -> dict[int, DomainError | None]:
        outcomes = await lifecycle.for_each(
            session, valid, lambda i: action(session, viewer, i, now)
        )
        return {o.credential_id: o.error for o in outcomes}

    refusals = (await run_mutation(info, apply)).value or {}
    loader = info.context.loaders.credentials.credential_by_id
    after = {c.id: c for c in await loader.load_many(valid) if c is not None}
    results = []
    for global_id, key in keys.items():
        if key is None or key not in refusals:
            errors = [CredentialError.not_found("ids")]
        else:
            refusal = refusals[key]
            errors = CredentialError.many([refusal], "ids") if refusal is not None else []
        credential = after.get(key) if key is not None and not errors else None
        results.append(
            BulkCredentialResult(
                id=global_id,
                ok=not errors,
                credential=CredentialNode.from_model(credential) if credential else None,
                errors=errors,
            )
        )
    return BulkCredentialPayload(results=results)


@strawberry.type
class CredentialMutations:
    @strawberry.mutation(
        description="Submit a credential: for yourself, anyone (USERS_MANAGE) or the "
        "workers of companies you manage (COMPANIES_MANAGE)."
    )
    async def create_credential(
        self, info: Info[RequestContext, None], input: CreateCredentialInput
    ) -> CredentialPayload:
        type_id = key_of(input.type_id, "CredentialType")
        holder_id = key_of(input.holder_id, "User")
        if type_id is None:
            return CredentialPayload(
                errors=[CredentialError.not_found("typeId", "Credential type")]
            )
        if holder_id is None:
            return CredentialPayload(errors=[CredentialError.not_found("holderId", "User")])
        details = VersionDetails(input.issue_date, input.expiry_date, input.credential_number)
        files = uploaded_files(input.media, "media")
        if isinstance(files, DomainError):
            return CredentialPayload(errors=[CredentialError.from_domain(files)])
        outcome = await run_media_mutation(
            info,
            files,
            "media",
            lambda s, viewer, now, media: lifecycle.create_credential(
                s, viewer, type_id, holder_id, details, now, media
            ),
        )
        return _payload(outcome)

    @strawberry.mutation(description="Renew: the new version becomes the latest.")
    async def add_credential_version(
        self, info: Info[RequestContext, None], input: AddCredentialVersionInput
    ) -> CredentialPayload:
        details = VersionDetails(input.issue_date, input.expiry_date, input.credential_number)
        credential_id = key_of(input.credential_id, "Credential")
        files = uploaded_files(input.media, "media")
        if credential_id is None:
            return CredentialPayload(errors=[CredentialError.not_found("credentialId")])
        if isinstance(files, DomainError):
            return CredentialPayload(errors=[CredentialError.from_domain(files)])
        outcome = await run_media_mutation(
            info,
            files,
            "media",
            lambda s, viewer, now, media: lifecycle.add_version(
                s, viewer, credential_id, details, now, input.expected_revision, media
            ),
        )
        return _payload(outcome, id_argument="credentialId")

    @strawberry.mutation(description="Change the latest version in place.")
    async def edit_latest_credential_version(
        self, info: Info[RequestContext, None], input: EditLatestCredentialVersionInput
    ) -> CredentialPayload:
        changes = input.changes()
        credential_id = key_of(input.credential_id, "Credential")
        files = uploaded_files(input.add_media, "addMedia")
        remove_ids = [key_of(i, MEDIA_TYPE_NAME) for i in input.remove_media_ids or []]
        if credential_id is None:
            return CredentialPayload(errors=[CredentialError.not_found("credentialId")])
        if isinstance(files, DomainError):
            return CredentialPayload(errors=[CredentialError.from_domain(files)])
        if None in remove_ids:
            return CredentialPayload(errors=[CredentialError.not_found("removeMediaIds", "File")])
        outcome = await run_media_mutation(
            info,
            files,
            "addMedia",
            lambda s, viewer, now, media: lifecycle.edit_latest_version(
                s, viewer, credential_id, input.expected_revision, changes, now, media
            ),
            remove_ids=[i for i in remove_ids if i is not None],
        )
        return _payload(outcome, id_argument="credentialId")

    @strawberry.mutation(
        description="Approve the latest version (CREDENTIALS_MANAGE, not your own). Final."
    )
    async def approve_credential(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> CredentialPayload:
        return await _credential_mutation(info, id, "id", lifecycle.approve)

    @strawberry.mutation(
        description="Reject the latest version with a reason the holder reads; asks them "
        "to resubmit (CREDENTIALS_MANAGE, not your own)."
    )
    async def reject_credential(
        self, info: Info[RequestContext, None], id: strawberry.ID, reason: str
    ) -> CredentialPayload:
        return await _credential_mutation(
            info,
            id,
            "id",
            lambda s, viewer, cid, now: lifecycle.reject(s, viewer, cid, reason, now),
        )

    @strawberry.mutation(
        description="Archive: no expiry notifications, no edits, no reviews until restored."
    )
    async def archive_credential(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> CredentialPayload:
        return await _credential_mutation(info, id, "id", lifecycle.archive)

    @strawberry.mutation
    async def restore_credential(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> CredentialPayload:
        return await _credential_mutation(info, id, "id", lifecycle.restore)

    @strawberry.mutation(
        description="Permanently delete an archived credential: versions, activity and "
        "media go; an organization audit entry remains. Needs confirm: true."
    )
    async def delete_credential(
        self, info: Info[RequestContext, None], id: strawberry.ID, confirm: bool
    ) -> DeleteCredentialPayload:
        credential_id = key_of(id, "Credential")
        if credential_id is None:
            return DeleteCredentialPayload(errors=[CredentialError.not_found("id")])
        async with releasing_media(info) as staging:
            outcome = await run_mutation(
                info,
                lambda s, viewer, now: lifecycle.delete(
                    s, viewer, credential_id, confirm, now, staging
                ),
            )
        if outcome.errors:
            return DeleteCredentialPayload(errors=CredentialError.many(outcome.errors))
        return DeleteCredentialPayload(deleted_id=id)

    @strawberry.mutation(description=f"Archive up to {MAX_BULK_IDS} credentials; reports per id.")
    async def archive_credentials(
        self, info: Info[RequestContext, None], ids: list[strawberry.ID]
    ) -> BulkCredentialPayload:
        return await _bulk(info, ids, lifecycle.archive)

    @strawberry.mutation(description=f"Restore up to {MAX_BULK_IDS} credentials; reports per id.")
    async def restore_credentials(
        self, info: Info[RequestContext, None], ids: list[strawberry.ID]
    ) -> BulkCredentialPayload:
        return await _bulk(info, ids, lifecycle.restore)

    @strawberry.mutation(
        description=f"Permanently delete up to {MAX_BULK_IDS} archived credentials; "
        "reports per id. Needs confirm: true."
    )
    async def delete_credentials(
        self, info: Info[RequestContext, None], ids: list[strawberry.ID], confirm: bool
    ) -> BulkCredentialPayload:
        async with releasing_media(info) as staging:
            return await _bulk(
                info,
                ids,
                lambda s, viewer, cid, now: lifecycle.delete(s, viewer, cid, confirm, now, staging),
            )
