"""Credentials, their versions and activity."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import strawberry
from strawberry import Info, relay
from strawberry.extensions import FieldExtension
from strawberry.permission import PermissionExtension

from models.activity import ActivityAction, CredentialActivity
from models.credential import ApprovalStatus, Credential, CredentialVersion
from models.credential_page import ListedCredential
from resolvers.context import RequestContext
from resolvers.credential import resolve_credentials_by_id, resolve_versions_by_id
from schema.credential_permissions import CanSeeActivityValue, CanSeeCredentialDetails
from schema.credential_type import CredentialTypeNode
from schema.ids import local_ids
from schema.media import CredentialMediaType
from schema.prefetched import Prefetched, loaded_later
from schema.user import UserType
from services.credentials import dates
from services.credentials.policy import can_see_details

ApprovalStatusEnum = strawberry.enum(ApprovalStatus, name="ApprovalStatus")
ActivityActionEnum = strawberry.enum(ActivityAction, name="ActivityAction")
ExpiryStatusEnum = strawberry.enum(
    dates.ExpiryStatus,
    name="ExpiryStatus",
    description="The state of a version's dates on a day. VALID through the expiry date; "
    "EXPIRING_SOON within the organization's window before it; EXPIRED after it.",
)


def _details() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[CanSeeCredentialDetails()], fail_silently=True)]


def _activity_value() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[CanSeeActivityValue()], fail_silently=True)]


async def _user(info: Info[RequestContext, None], user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    user = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_model(user) if user is not None else None


@strawberry.type(name="CredentialActivity")
class CredentialActivityEntry:
    action: ActivityActionEnum  # type: ignore[valid-type]
    field: str | None = strawberry.field(
        description="issueDate, expiryDate, credentialNumber, media, approvalStatus or "
        "rejectionReason for changes (media: a file's name as newValue when added, as "
        "oldValue when removed). Values of credentialNumber, media and rejectionReason are "
        "null for viewers who may not see those fields."
    )
    at: datetime
    version_number: int | None
    actor_id: strawberry.Private[int | None]
    holder_id: strawberry.Private[int]
    old_text: strawberry.Private[str | None]
    new_text: strawberry.Private[str | None]

    @strawberry.field(extensions=_activity_value())
    def old_value(self) -> str | None:
        return self.old_text

    @strawberry.field(extensions=_activity_value())
    def new_value(self) -> str | None:
        return self.new_text

    @strawberry.field(description="Who did it; null if no longer visible or removed.")
    async def actor(self, info: Info[RequestContext, None]) -> UserType | None:
        return await _user(info, self.actor_id)

    @classmethod
    def from_model(
        cls, entry: CredentialActivity, version_numbers: dict[int, int], holder_id: int
    ) -> CredentialActivityEntry:
        return cls(
            action=entry.action,
            field=API_FIELD_NAMES.get(entry.field, entry.field) if entry.field else None,
            holder_id=holder_id,
            old_text=entry.old_value,
            new_text=entry.new_value,
            at=entry.at,
            version_number=version_numbers.get(entry.version_id) if entry.version_id else None,
            actor_id=entry.actor_id,
        )


API_FIELD_NAMES = {
    "issue_date": "issueDate",
    "expiry_date": "expiryDate",
    "credential_number": "credentialNumber",
    "approval_status": "approvalStatus",
    "rejection_reason": "rejectionReason",
}


@strawberry.type(name="CredentialVersion")
class CredentialVersionNode(relay.Node):
    id: relay.NodeID[int]
    number: int = strawberry.field(description="1 for the first submission, then one per renewal.")
    issue_date: date | None
    expiry_date: date | None
    approval_status: ApprovalStatusEnum  # type: ignore[valid-type]
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    credential_id: strawberry.Private[int]
    holder_id: strawberry.Private[int]
    reviewed_by_id: strawberry.Private[int | None]
    submitted_by_id: strawberry.Private[int | None]
    number_value: strawberry.Private[str | None]
    reason_value: strawberry.Private[str | None]
    # Fetched with a page of the credentials list (schema.prefetched).
    listed_media_count: strawberry.Private[int | None] = None

    @strawberry.field(extensions=_details())
    def credential_number(self) -> str | None:
        return self.number_value

    @strawberry.field(
        extensions=_details(),
        description="Why the version was rejected; the holder reads it when resubmitting.",
    )
    def rejection_reason(self) -> str | None:
        return self.reason_value

    @strawberry.field(
        description="Photos and PDF scans of the credential, oldest first; null for viewers "
        "who may not see the credential's details (its holder, those who manage the "
        "holder's credentials, and reviewers may)."
    )
    async def media(self, info: Info[RequestContext, None]) -> list[CredentialMediaType] | None:
        loaders = info.context.loaders
        holder = await loaders.user_by_id.load(self.holder_id)
        if holder is None or not can_see_details(info.context.require_viewer(), holder):
            return None
        found = await loaders.credentials.media_by_version_id.load(self.id)
        return [CredentialMediaType.from_model(m) for m in found]

    @strawberry.field(
        description="How many files the version carries, for everyone who sees the version "
        "(the files themselves follow the details rule of `media`)."
    )
    def media_count(self, info: Info[RequestContext, None]) -> int:
        if self.listed_media_count is not None:
            return self.listed_media_count
        return loaded_later(
            info.context.loaders.credentials.media_count_by_version_id.load(self.id)
        )

    @strawberry.field
    async def reviewed_by(self, info: Info[RequestContext, None]) -> UserType | None:
        return await _user(info, self.reviewed_by_id)

    @strawberry.field
    async def submitted_by(self, info: Info[RequestContext, None]) -> UserType | None:
        return await _user(info, self.submitted_by_id)

    @strawberry.field
    async def credential(self, info: Info[RequestContext, None]) -> CredentialNode:
        credential = await info.context.loaders.credentials.credential_by_id.load(
            self.credential_id
        )
        assert credential is not None, "a visible version's credential is visible"
        return CredentialNode.from_model(credential)

    @strawberry.field(description="Changes to this version, oldest first.")
    async def activity(self, info: Info[RequestContext, None]) -> list[CredentialActivityEntry]:
        loaders = info.context.loaders.credentials
        entries = await loaders.activity_by_credential_id.load(self.credential_id)
        numbers = {self.id: self.number}
        return [
            CredentialActivityEntry.from_model(e, numbers, self.holder_id)
            for e in entries
            if e.version_id == self.id
        ]

    @classmethod
    def from_model(cls, version: CredentialVersion, holder_id: int) -> CredentialVersionNode:
        return cls(
            id=version.id,
            number=version.number,
            issue_date=version.issue_date,
            expiry_date=version.expiry_date,
            approval_status=version.approval_status,
            reviewed_at=version.reviewed_at,
            created_at=version.created_at,
            updated_at=version.updated_at,
            credential_id=version.credential_id,
            holder_id=holder_id,
            reviewed_by_id=version.reviewed_by_id,
            submitted_by_id=version.submitted_by_id,
            number_value=version.credential_number,
            reason_value=version.rejection_reason,
        )

    @classmethod
    def from_listed(cls, row: ListedCredential) -> CredentialVersionNode:
        return cls(
            id=row.version_id,
            number=row.version_number,
            issue_date=row.issue_date,
            expiry_date=row.expiry_date,
            approval_status=row.approval_status,
            reviewed_at=row.reviewed_at,
            created_at=row.version_created_at,
            updated_at=row.version_updated_at,
            credential_id=row.id,
            holder_id=row.holder_id,
            reviewed_by_id=row.reviewed_by_id,
            submitted_by_id=row.submitted_by_id,
            number_value=row.credential_number,
            reason_value=row.rejection_reason,
            listed_media_count=row.media_count,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[CredentialVersionNode | None]:
        versions = await resolve_versions_by_id(info, local_ids(node_ids))
        loader = info.context.loaders.credentials.credential_by_id
        credentials = await loader.load_many(list({v.credential_id for v in versions if v}))
        holders = {c.id: c.holder_id for c in credentials if c is not None}
        return [
            cls.from_model(v, holders[v.credential_id]) if v is not None else None for v in versions
        ]


@strawberry.type(name="Credential")
class CredentialNode(relay.Node):
    id: relay.NodeID[int]
    revision: int = strawberry.field(
        description="Changes with every change to the credential: pass it back as "
        "expectedRevision when editing, so a concurrent change is a conflict, not a loss."
    )
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    type_id: strawberry.Private[int]
    holder_id: strawberry.Private[int]
    # Fetched with a page of the credentials list (schema.prefetched); the status with
    # the day it was judged on.
    listed_type: strawberry.Private[CredentialTypeNode | None] = None
    listed_holder: strawberry.Private[UserType | None] = None
    listed_latest: strawberry.Private[CredentialVersionNode | None] = None
    listed_status: strawberry.Private[dates.ExpiryStatus | None] = None
    listed_status_on: strawberry.Private[date | None] = None

    @strawberry.field
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field
    def type(self, info: Info[RequestContext, None]) -> CredentialTypeNode:
        if self.listed_type is not None:
            return self.listed_type
        return loaded_later(self._load_type(info))

    async def _load_type(self, info: Info[RequestContext, None]) -> CredentialTypeNode:
        credential_type = await info.context.loaders.credentials.type_by_id.load(self.type_id)
        assert credential_type is not None, "a credential's type cannot be deleted"
        return CredentialTypeNode.from_model(credential_type)

    @strawberry.field
    def holder(self, info: Info[RequestContext, None]) -> UserType:
        if self.listed_holder is not None:
            return self.listed_holder
        return loaded_later(self._load_holder(info))

    async def _load_holder(self, info: Info[RequestContext, None]) -> UserType:
        holder = await _user(info, self.holder_id)
        assert holder is not None, "a visible credential's holder is visible"
        return holder

    async def _versions(self, info: Info[RequestContext, None]) -> list[CredentialVersion]:
        return await info.context.loaders.credentials.versions_by_credential_id.load(self.id)

    @strawberry.field(description="Every version, newest first.")
    async def versions(self, info: Info[RequestContext, None]) -> list[CredentialVersionNode]:
        return [
            CredentialVersionNode.from_model(v, self.holder_id) for v in await self._versions(info)
        ]

    @strawberry.field(description="The newest version, whatever its approval status.")
    def latest_version(self, info: Info[RequestContext, None]) -> CredentialVersionNode:
        if self.listed_latest is not None:
            return self.listed_latest
        return loaded_later(self._load_latest_version(info))

    async def _load_latest_version(self, info: Info[RequestContext, None]) -> CredentialVersionNode:
        loader = info.context.loaders.credentials.latest_version_by_credential_id
        version = await loader.load(self.id)
        assert version is not None, "a credential always has its latest version"
        return CredentialVersionNode.from_model(version, self.holder_id)

    @strawberry.field(
        description="The latest approved version valid on the date (default today): a "
        "pending renewal never hides it. Null when none is."
    )
    async def effective_version(
        self, info: Info[RequestContext, None], on_date: date | None = None
    ) -> CredentialVersionNode | None:
        on = on_date or info.context.today()
        version = dates.effective_version(await self._versions(info), on)
        return CredentialVersionNode.from_model(version, self.holder_id) if version else None

    @strawberry.field(
        description="Whether an approved version is valid on the date (default today)."
    )
    async def is_valid(self, info: Info[RequestContext, None], on_date: date | None = None) -> bool:
        on = on_date or info.context.today()
        return dates.effective_version(await self._versions(info), on) is not None

    @strawberry.field(
        description="The expiry status on the date (default today) of the effective version; "
        "without one, of the latest approved version; without one, of the latest version."
    )
    def expiry_status(
        self, info: Info[RequestContext, None], on_date: date | None = None
    ) -> ExpiryStatusEnum:  # type: ignore[valid-type]
        on = on_date or info.context.today()
        if self.listed_status is not None and self.listed_status_on == on:
            return self.listed_status
        return loaded_later(self._load_expiry_status(info, on))

    async def _load_expiry_status(
        self, info: Info[RequestContext, None], on: date
    ) -> dates.ExpiryStatus:
        loaders = info.context.loaders.credentials
        versions = loaders.versions_by_credential_id.load(self.id)  # batched with the page's
        settings = await loaders.settings()
        version = dates.version_that_counts(await versions, on)
        status = dates.expiry_status(version, on, settings.expiring_soon_days)
        assert status is not None, "a credential always has a version"
        return status

    @strawberry.field(description="Every change and lifecycle action, oldest first.")
    async def activity(self, info: Info[RequestContext, None]) -> list[CredentialActivityEntry]:
        loaders = info.context.loaders.credentials
        entries = await loaders.activity_by_credential_id.load(self.id)
        numbers = {v.id: v.number for v in await self._versions(info)}
        return [CredentialActivityEntry.from_model(e, numbers, self.holder_id) for e in entries]

    @classmethod
    def from_model(cls, credential: Credential) -> CredentialNode:
        return cls(
            id=credential.id,
            revision=credential.revision,
            archived_at=credential.archived_at,
            created_at=credential.created_at,
            updated_at=credential.updated_at,
            type_id=credential.type_id,
            holder_id=credential.holder_id,
        )

    @classmethod
    def from_listed(
        cls,
        row: ListedCredential,
        status: dates.ExpiryStatus,
        on: date,
        types: dict[int, CredentialTypeNode],
        holders: dict[int, UserType],
    ) -> CredentialNode:
        """A row of a page, with what the page fetched for it; `types` and `holders` are
        shared by the page's rows (one object for each)."""
        credential_type = types.get(row.type_id)
        if credential_type is None:
            credential_type = types[row.type_id] = _type_of(row)
        holder = holders.get(row.holder_id)
        if holder is None:
            holder = holders[row.holder_id] = _holder_of(row)
        return cls(
            id=row.id,
            revision=row.revision,
            archived_at=row.archived_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            type_id=row.type_id,
            holder_id=row.holder_id,
            listed_type=credential_type,
            listed_holder=holder,
            listed_latest=CredentialVersionNode.from_listed(row),
            listed_status=status,
            listed_status_on=on,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[CredentialNode | None]:
        credentials = await resolve_credentials_by_id(info, local_ids(node_ids))
        return [cls.from_model(c) if c is not None else None for c in credentials]


# What a page of the credentials list fetched with its rows, answered without entering
# Strawberry's resolvers (schema.prefetched); the types on such a page, for their ids.
PREFETCHED = [
    Prefetched(CredentialNode, "holder", "listed_holder"),
    Prefetched(CredentialNode, "type", "listed_type"),
    Prefetched(CredentialNode, "latest_version", "listed_latest"),
    # Without onDate: today, the day the page was read for.
    Prefetched(CredentialNode, "expiry_status", "listed_status"),
    Prefetched(CredentialVersionNode, "media_count", "listed_media_count"),
]
PREFETCHED_NODE_IDS: list[type[relay.Node]] = [
    CredentialNode,
    CredentialVersionNode,
    CredentialTypeNode,
    UserType,
]


def _type_of(row: ListedCredential) -> CredentialTypeNode:
    return CredentialTypeNode(
        id=row.type_id,
        name=row.type_name,
        description=row.type_description,
        issue_date_rule=row.type_issue_date_rule,
        expiry_date_rule=row.type_expiry_date_rule,
        media_rule=row.type_media_rule,
        default_validity_months=row.type_default_validity_months,
        never_expires=row.type_never_expires,
        created_at=row.type_created_at,
        updated_at=row.type_updated_at,
    )


def _holder_of(row: ListedCredential) -> UserType:
    return UserType(
        id=row.holder_id,
        name=row.holder_name,
        is_active=row.holder_is_active,
        created_at=row.holder_created_at,
        company_id=row.holder_company_id,
        email_address=row.holder_email,
    )
