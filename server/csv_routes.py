"""CSV over plain HTTP: the import template and the streamed credentials export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from strawberry import Schema

from models.tenancy import scoped_to
from resolvers.credential_list import check_filter
from resolvers.errors import BadInputError
from schema.csv_io import credential_filter_from_json
from server.auth import authenticate
from server.database import Database
from server.http_errors import error_response
from services.csv_io.export import export_csv, template_csv
from services.tokens import parse_bearer
from services.visibility import search_scope

CSV_TYPE = "text/csv; charset=utf-8"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def _error(status: int, code: str, message: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="credentials-api"'} if status == 401 else None
    return error_response(status, code, message, headers)


def csv_endpoints(
    database: Database, schema: Schema, clock: Callable[[], datetime]
) -> tuple[Callable[[Request], object], Callable[[Request], object]]:
    async def template(_: Request) -> Response:
        return Response(template_csv(), media_type=CSV_TYPE, headers=_attachment("template.csv"))

    async def export(request: Request) -> Response:
        token = parse_bearer(request.headers.get("authorization"))
        viewer = await authenticate(database, token, clock)
        if viewer is None:
            return _error(401, "UNAUTHENTICATED", "Send a valid API token as a Bearer token.")
        try:
            credential_filter = credential_filter_from_json(
                schema, request.query_params.get("filter")
            )
            check_filter(credential_filter)  # the list's own checks: the same search rules
        except (ValueError, BadInputError) as error:
            return _error(400, "BAD_USER_INPUT", f"filter: {error}")
        today = clock().date()

        async def body() -> AsyncIterator[bytes]:
            # The read session lives as long as the stream: the export is one snapshot.
            async with database.read(scoped_to(viewer.organization_id)) as session:
                async for chunk in export_csv(
                    session, viewer, credential_filter, search_scope(viewer), today
                ):
                    yield chunk.encode()

        name = f"credentials-{today.isoformat()}.csv"
        return StreamingResponse(body(), media_type=CSV_TYPE, headers=_attachment(name))

    return template, export
