"""Media files of credential versions as clients see them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import strawberry
from strawberry import Info, relay
from strawberry.relay import GlobalID

from models.media import AccessFilter, CredentialMedia, MediaAccess
from resolvers.context import RequestContext
from resolvers.media import media_url, resolve_media_by_id
from resolvers.media_log import resolve_media_access_page
from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.ids import key_of, local_ids
from schema.pagination import Connection
from schema.user import UserType

MEDIA_TYPE_NAME = "CredentialMedia"


@strawberry.type(
    name="CredentialMedia",
    description="A photo (JPEG, PNG, WebP, HEIC) or PDF scan of the credential.",
)
class CredentialMediaType(relay.Node):
    id: relay.NodeID[int] = strawberry.field(
        description="Pass it in removeMediaIds to remove the file."
    )
    filename: str
    content_type: str = strawberry.field(description="Decided from the content, not the name.")
    size: int = strawberry.field(description="In bytes.")
    created_at: datetime
    media_id: strawberry.Private[int]
    credential_id: strawberry.Private[int]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[CredentialMediaType | None]:
        found = await resolve_media_by_id(info, local_ids(node_ids))
        return [cls.from_model(m) if m is not None else None for m in found]

    @strawberry.field(
        description="A link that downloads the file, for you only and for a few minutes "
        "(MEDIA_LINK_SECONDS); read it again for a fresh one. Each download is recorded."
    )
    def url(self, info: Info[RequestContext, None]) -> str:
        return media_url(info.context, self.media_id)

    @classmethod
    def from_model(cls, media: CredentialMedia) -> CredentialMediaType:
        return cls(
            id=media.id,
            filename=media.filename,
            content_type=media.content_type,
            size=media.size,
            created_at=media.created_at,
            media_id=media.id,
            credential_id=media.credential_id,
        )


@strawberry.type(description="One download of a credential's file.")
class MediaAccessEntry:
    at: datetime
    filename: str
    credential_id: strawberry.ID = strawberry.field(
        description="The credential's id; it may have been deleted since."
    )
    viewer_id: strawberry.Private[int | None]
    holder_id: strawberry.Private[int | None]

    @strawberry.field(description="Who opened it; null if that user was removed.")
    async def viewer(self, info: Info[RequestContext, None]) -> UserType | None:
        return await _user(info, self.viewer_id)

    @strawberry.field(description="Whose credential it is; null if that user was removed.")
    async def holder(self, info: Info[RequestContext, None]) -> UserType | None:
        return await _user(info, self.holder_id)

    @classmethod
    def from_model(cls, entry: MediaAccess) -> MediaAccessEntry:
        return cls(
            at=entry.at,
            filename=entry.filename,
            credential_id=strawberry.ID(str(GlobalID("Credential", str(entry.credential_id)))),
            viewer_id=entry.viewer_id,
            holder_id=entry.holder_id,
        )


async def _user(info: Info[RequestContext, None], user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    user = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_model(user) if user is not None else None


@strawberry.input(description="Every criterion given must hold; an id of nothing matches nothing.")
class MediaAccessFilterInput:
    credential_id: strawberry.ID | None = None
    holder_id: strawberry.ID | None = strawberry.field(
        default=None, description="Whose credentials' files were opened."
    )
    viewer_id: strawberry.ID | None = strawberry.field(default=None, description="Who opened them.")
    since: datetime | None = strawberry.field(
        default=None, description="Inclusive; without an offset, UTC."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Exclusive; without an offset, UTC."
    )

    def to_filter(self) -> AccessFilter:
        def key(value: strawberry.ID | None, type_name: str) -> int | None:
            # An id that names nothing of the type matches nothing (0 is never a key).
            return None if value is None else (key_of(value, type_name) or 0)

        return AccessFilter(
            credential_id=key(self.credential_id, "Credential"),
            holder_id=key(self.holder_id, "User"),
            viewer_id=key(self.viewer_id, "User"),
            since=_aware(self.since),
            until=_aware(self.until),
        )


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@strawberry.type
class MediaQueries:
    @strawberry.field(
        description="Who opened which credential's files, when: newest first (CREDENTIALS_MANAGE)."
    )
    async def media_access_log(
        self,
        info: Info[RequestContext, None],
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: MediaAccessFilterInput | None = None,
    ) -> Connection[MediaAccessEntry]:
        access_filter = (filter or MediaAccessFilterInput()).to_filter()
        page = await resolve_media_access_page(info, access_filter, first, after)
        return Connection.from_page(page, MediaAccessEntry.from_model)
