"""The credentials list: filter, order and keyset pages in both directions.

A cursor holds the row's sort key: `[id]` in creation order, `[field, value, id]` in any
other, so a cursor read under another order is refused rather than misread.
"""

from __future__ import annotations

from datetime import date, datetime

from strawberry import Info

from models.credential_filter import CredentialFilter, ExpiryWindow
from models.credential_queries import (
    CredentialOrder,
    CredentialOrderField,
    ListedCredential,
    Position,
    SortValue,
    count_credentials,
    select_credentials_page,
)
from resolvers.context import RequestContext
from resolvers.errors import BadInputError
from resolvers.pagination import Page, PageRequest, decode_cursor, encode_cursor
from services.text import has_control_characters
from services.visibility import search_scope, users_visible_to

MAX_SEARCH_LENGTH = 200


async def expiry_window(context: RequestContext, on: date | None) -> ExpiryWindow:
    """The day statuses are judged on (default today) and the organization's window."""
    settings = await context.loaders.credentials.settings()
    return ExpiryWindow.starting(on or context.today(), settings.expiring_soon_days)


def check_filter(credential_filter: CredentialFilter) -> None:
    search = credential_filter.search
    if search is not None:
        if has_control_characters(search):
            raise BadInputError("'search' must not contain control characters")
        if len(search) > MAX_SEARCH_LENGTH:
            raise BadInputError(f"'search' takes at most {MAX_SEARCH_LENGTH} characters")
    low, high = credential_filter.expires_from, credential_filter.expires_to
    if low is not None and high is not None and low > high:
        raise BadInputError(f"'expiresFrom' ({low}) is after 'expiresTo' ({high})")


async def resolve_credentials_page(
    info: Info[RequestContext, None],
    credential_filter: CredentialFilter,
    order: CredentialOrder,
    request: PageRequest,
    on_date: date | None = None,
) -> Page[ListedCredential]:
    context = info.context
    viewer = context.require_viewer()
    check_filter(credential_filter)
    position = (
        _position(request.cursor, order, request.cursor_argument)
        if request.cursor is not None
        else None
    )
    window = (
        await expiry_window(context, on_date)
        if credential_filter.expiry_statuses is not None
        else None
    )
    visible = users_visible_to(viewer)
    conditions = credential_filter.clauses(window, search_scope(viewer))
    statement = select_credentials_page(
        visible, conditions, order, position, backward=request.backward, limit=request.size + 1
    )
    async with context.read() as session:
        fetched = [ListedCredential(*row) for row in (await session.execute(statement)).all()]

    async def count() -> int:
        async with context.read() as session:
            return int(await session.scalar(count_credentials(visible, conditions)) or 0)

    more = len(fetched) > request.size
    rows = fetched[: request.size]
    if request.backward:
        rows.reverse()
    _prime(context, rows)
    return Page(
        rows=rows,
        cursors=[_cursor(order, row) for row in rows],
        has_next=request.cursor is not None if request.backward else more,
        has_previous=more if request.backward else request.cursor is not None,
        count=count,
    )


def _prime(context: RequestContext, rows: list[ListedCredential]) -> None:
    """What the page's query fetched need not be fetched again by the fields below it."""
    loaders = context.loaders
    for row in rows:
        loaders.credentials.credential_by_id.prime(row.credential.id, row.credential)
        loaders.user_by_id.prime(row.holder.id, row.holder)
        loaders.credentials.type_by_id.prime(row.type.id, row.type)
        loaders.credentials.latest_version_by_credential_id.prime(row.credential.id, row.latest)


def _cursor(order: CredentialOrder, row: ListedCredential) -> str:
    value = order.value_of(row)
    if value is None:
        return encode_cursor([row.credential.id])
    return encode_cursor(
        [
            order.field.value,
            value.isoformat() if not isinstance(value, str) else value,
            row.credential.id,
        ]
    )


def _position(cursor: str, order: CredentialOrder, argument: str) -> Position:
    if order.field is CredentialOrderField.CREATED:
        return Position(value=None, id=decode_cursor(cursor, (int,), argument)[0])
    field, text, key = decode_cursor(cursor, (str, str, int), argument)
    if field != order.field.value:
        raise BadInputError(
            f"'{argument}' cursor {cursor!r} belongs to the order by {field}, not by "
            f"{order.field.value}: start again without a cursor"
        )
    return Position(value=_sort_value(order.field, text, cursor, argument), id=key)


def _sort_value(field: CredentialOrderField, text: str, cursor: str, argument: str) -> SortValue:
    try:
        if field in (CredentialOrderField.EXPIRY_DATE, CredentialOrderField.ISSUE_DATE):
            return date.fromisoformat(text)
        if field is CredentialOrderField.UPDATED_AT:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise ValueError("naive")
            return moment
    except ValueError:
        raise BadInputError(
            f"'{argument}' cursor {cursor!r} is not a cursor of this connection"
        ) from None
    return text
