"""GET /media/{link}: a file behind a signed, short-lived link (services.media.links).

Served as an attachment with its detected type and `nosniff`, so a browser neither
renders nor guesses it; never cached. Each opening is recorded (services.media.access).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from models.tenancy import scoped_to, unscoped
from server.database import Database
from server.http_errors import code_for_status, error_response
from server.request_id import request_id_of
from server.settings import Settings
from services.identity import find_viewer_by_token_id
from services.media.access import open_media
from services.media.links import BadLink, ExpiredLink, verify
from services.media.storage import MediaStore, MediaStoreError

logger = logging.getLogger("credentials.media")

NOT_FOUND = "No such file, or this link is not valid for it."
UNREADABLE = "This file cannot be read now; the operators have been told."
EXPIRED = "This link has expired: read the file's url from the API again for a fresh one."


def _refusal(status: int, message: str) -> Response:
    code = {410: "LINK_EXPIRED"}.get(status, code_for_status(status))
    return error_response(status, code, message, {"Cache-Control": "no-store"})


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 6266 form."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class MediaDownload:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        store: MediaStore,
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.settings = settings
        self.store = store
        self.clock = clock

    async def respond(self, request: Request) -> Response:
        try:
            claims = verify(self.settings.secret_key, request.path_params["link"], self.clock())
        except BadLink:
            return _refusal(404, NOT_FOUND)
        except ExpiredLink:
            return _refusal(410, EXPIRED)
        async with self.database.read(unscoped()) as session:
            viewer = await find_viewer_by_token_id(session, claims.token_id)
        if viewer is None or viewer.organization_id != claims.organization_id:
            return _refusal(404, NOT_FOUND)
        async with self.database.transaction(scoped_to(viewer.organization_id)) as session:
            # A HEAD request learns the headers, not the content: not an opening.
            media = await open_media(
                session, viewer, claims.media_id, self.clock(), record=request.method == "GET"
            )
        if media is None:
            return _refusal(404, NOT_FOUND)
        chunks = self.store.read(media.content_key)
        try:
            # Read before answering: a missing or unopenable file is an error response,
            # not a download cut short.
            first = await anext(chunks)
        except (MediaStoreError, StopAsyncIteration) as error:
            logger.error("media %s cannot be read (key %s): %s", media.id, media.content_key, error)
            return _refusal(500, UNREADABLE)

        logger.info(
            "media download",
            extra={
                "request_id": request_id_of(request.scope),
                "media_id": media.id,
                "credential_id": media.credential_id,
                "user_id": viewer.user_id,
                "organization_id": viewer.organization_id,
                "method": request.method,
            },
        )

        async def body() -> AsyncIterator[bytes]:
            yield first
            async for chunk in chunks:
                yield chunk

        return StreamingResponse(
            body(),
            media_type=media.content_type,
            headers={
                "Content-Length": str(media.size),
                "Content-Disposition": content_disposition(media.filename),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, no-store",
                "Referrer-Policy": "no-referrer",
            },
        )
