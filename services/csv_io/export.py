"""The credentials export: CSV text streamed in chunks, in constant memory, with the
columns the import reads back (services.csv_io.columns)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential_export import select_export_rows
from models.credential_filter import CredentialFilter, ExpiryWindow, SearchScope
from services.credentials import policy
from services.credentials.settings import load_settings
from services.csv_io.columns import EXPORT_COLUMNS, NO, YES, neutralize, template_rows
from services.csv_io.rows import HolderRef
from services.viewer import Viewer
from services.visibility import users_visible_to

_ROWS_PER_CHUNK = 1_000
_FETCH_SIZE = 5_000


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return neutralize(str(value))


def template_csv() -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(template_rows())
    return buffer.getvalue()


async def export_csv(
    session: AsyncSession,
    viewer: Viewer,
    credential_filter: CredentialFilter,
    scope: SearchScope,
    today: date,
) -> AsyncIterator[str]:
    """The header, then one row per credential the viewer may see that the filter keeps.
    Credential numbers follow the API's rule: blank where the viewer may not see them."""
    settings = await load_settings(session, viewer.organization_id)
    window = ExpiryWindow.starting(today, settings.expiring_soon_days)
    visible = users_visible_to(viewer)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spec.title for spec in EXPORT_COLUMNS])
    rows = 0
    result = await session.stream(
        select_export_rows(
            visible, credential_filter.clauses(window, scope), window
        ).execution_options(yield_per=_FETCH_SIZE)
    )
    async for partition in result.partitions():
        for (
            holder_id,
            company_id,
            email,
            name,
            type_name,
            issue,
            expiry,
            number,
            external_id,
            approval,
            expiry_status,
            archived_at,
        ) in partition:
            holder = HolderRef(holder_id, company_id)
            writer.writerow(
                [
                    _text(email) if policy.can_see_email(viewer, holder_id) else "",
                    _text(type_name),
                    _text(issue),
                    _text(expiry),
                    _text(number) if policy.can_see_details(viewer, holder) else "",
                    _text(external_id),
                    _text(name),
                    _text(approval),
                    expiry_status,
                    YES if archived_at is not None else NO,
                ]
            )
            rows += 1
            if rows % _ROWS_PER_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
