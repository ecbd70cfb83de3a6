"""The credentials list: filter, order and keyset pages in both directions.

A cursor holds the row's sort key: `[id]` in creation order, `[field, value, id]` in any
other, so a cursor read under another order is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select
from strawberry import Info

from models.credential_filter import ArchivedFilter, CredentialFilter, ExpiryWindow
from models.credential_page import ListedCredential, select_listed_page
from models.credential_queries import (
    CredentialOrder,
    CredentialOrderField,
    Position,
    SortValue,
    count_credentials,
)
from models.tenancy import scoped_select, scoped_to
from resolvers.context import RequestContext
from resolvers.errors import BadInputError
from resolvers.pagination import Page, PageRequest, decode_cursor, encode_cursor
from services.credentials.dates import ExpiryStatus, expiry_status_of
from services.text import has_control_characters
from services.viewer import Viewer
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


@dataclass(frozen=True)
class ListedPage:
    """A page of the list, and the day its rows' expiry statuses are judged on."""

    page: Page[ListedCredential]
    on: date

    def expiry_status(self, row: ListedCredential) -> ExpiryStatus:
        return expiry_status_of(row.counting_expiry_date, self.on, row.expiring_soon_days)


async def resolve_credentials_page(
    info: Info[RequestContext, None],
    credential_filter: CredentialFilter,
    order: CredentialOrder,
    request: PageRequest,
    on_date: date | None = None,
) -> ListedPage:
    context = info.context
    viewer = context.require_viewer()
    check_filter(credential_filter)
    position = (
        _position(request.cursor, order, request.cursor_argument)
        if request.cursor is not None
        else None
    )
    visible = users_visible_to(viewer)
    today = context.today()
    window: ExpiryWindow | None = None

    def conditions() -> list[ColumnElement[bool]]:
        return credential_filter.clauses(window, search_scope(viewer))

    def page_statement() -> Select[Any]:
        return select_listed_page(
            visible,
            conditions(),
            order,
            position,
            backward=request.backward,
            limit=request.size + 1,
            on=today,
        )

    read: Sequence[Sequence[Any]]
    if credential_filter.expiry_statuses is None:
        if position is None and credential_filter == CredentialFilter(
            archived=credential_filter.archived
        ):
            statement = _first_page(
                viewer, credential_filter.archived, order, request.backward, request.size, today
            )
        else:
            statement = page_statement()
        # One statement: read outside any transaction, as it sees one snapshot on its own.
        read = await context.database.read_rows(scoped_to(viewer.organization_id), statement)
    else:
        # The filter's window first, in the page's own transaction (each row reads the
        # setting too, for its expiry status: both must see the same setting).
        async with context.read() as session:
            settings = await context.loaders.credentials.settings(session)
            window = ExpiryWindow.starting(on_date or today, settings.expiring_soon_days)
            read = (await session.execute(page_statement())).all()
    fetched = [ListedCredential(*row) for row in read]

    async def count() -> int:
        async with context.read() as session:
            return int(await session.scalar(count_credentials(visible, conditions())) or 0)

    more = len(fetched) > request.size
    rows = fetched[: request.size]
    if request.backward:
        rows.reverse()
    page = Page(
        rows=rows,
        cursors=[_cursor(order, row) for row in rows],
        has_next=request.cursor is not None if request.backward else more,
        has_previous=more if request.backward else request.cursor is not None,
        count=count,
    )
    return ListedPage(page, on=today)


@lru_cache(maxsize=256)
def _first_page(
    viewer: Viewer,
    archived: ArchivedFilter,
    order: CredentialOrder,
    backward: bool,
    size: int,
    today: date,
) -> Select[Any]:
    """The statement of a first page filtered by archived state alone (a dashboard's),
    built and scoped to the viewer's organization once: building it, and computing the
    cache key SQLAlchemy finds its compiled form by, cost more than running it. A viewer
    stands for everything the statement depends on (the users it sees)."""
    statement = select_listed_page(
        users_visible_to(viewer),
        CredentialFilter(archived=archived).clauses(None, search_scope(viewer)),
        order,
        None,
        backward=backward,
        limit=size + 1,
        on=today,
    )
    return scoped_select(statement, scoped_to(viewer.organization_id))


def _cursor(order: CredentialOrder, row: ListedCredential) -> str:
    value = order.value_of(row)
    if value is None:
        return encode_cursor([row.id])
    return encode_cursor(
        [order.field.value, value.isoformat() if not isinstance(value, str) else value, row.id]
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
