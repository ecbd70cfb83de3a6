"""Media files of credential versions as clients see them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.relay import GlobalID

from models.media import CredentialMedia

MEDIA_TYPE_NAME = "CredentialMedia"


@strawberry.type(
    name="CredentialMedia",
    description="A photo (JPEG, PNG, WebP, HEIC) or PDF scan of the credential.",
)
class CredentialMediaType:
    id: strawberry.ID = strawberry.field(description="Pass it in removeMediaIds to remove it.")
    filename: str
    content_type: str = strawberry.field(description="Decided from the content, not the name.")
    size: int = strawberry.field(description="In bytes.")
    created_at: datetime
    media_id: strawberry.Private[int]
    credential_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, media: CredentialMedia) -> CredentialMediaType:
        return cls(
            id=strawberry.ID(str(GlobalID(MEDIA_TYPE_NAME, str(media.id)))),
            filename=media.filename,
            content_type=media.content_type,
            size=media.size,
            created_at=media.created_at,
            media_id=media.id,
            credential_id=media.credential_id,
        )
