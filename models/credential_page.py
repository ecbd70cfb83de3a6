"""A page of the credentials list as plain columns: the credential, its holder, type and
latest version, the latest version's media count, the expiry date that counts and the
organization's expiring-soon window.

One statement, and no ORM objects: building four entities a row was most of a dashboard
page's time (bench/README.md). The rows are for reading only; writers load entities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from models.credential import ApprovalStatus, Credential
from models.credential_filter import LATEST, counting_expiry_date
from models.credential_queries import CredentialOrder, Position, select_credentials_page
from models.credential_settings import DEFAULT_EXPIRING_SOON_DAYS, CredentialSettings
from models.credential_type import CredentialType, FieldRule
from models.media import CredentialMedia
from models.user import User


@dataclass(frozen=True, slots=True)
class ListedCredential:
    """One row of a page; its fields are the statement's columns, in order."""

    id: int
    revision: int
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    type_id: int
    holder_id: int
    holder_name: str
    holder_name_key: str
    holder_email: str
    holder_is_active: bool
    holder_company_id: int | None
    holder_created_at: datetime
    type_name: str
    type_name_key: str
    type_description: str
    type_issue_date_rule: FieldRule
    type_expiry_date_rule: FieldRule
    type_media_rule: FieldRule
    type_default_validity_months: int | None
    type_never_expires: bool
    type_created_at: datetime
    type_updated_at: datetime
    version_id: int
    version_number: int
    issue_date: date | None
    expiry_date: date | None
    credential_number: str | None
    approval_status: ApprovalStatus
    reviewed_by_id: int | None
    reviewed_at: datetime | None
    rejection_reason: str | None
    submitted_by_id: int | None
    version_created_at: datetime
    version_updated_at: datetime
    media_count: int
    # The expiry date of the version that counts on the day the page was read for
    # (services.credentials.dates.version_that_counts, as counting_expiry_date states it).
    counting_expiry_date: date | None
    # The organization's setting, read with the rows rather than in a statement of its own.
    expiring_soon_days: int


@lru_cache(maxsize=4)
def _columns(on: date) -> tuple[ColumnElement[Any], ...]:
    """Made once a day: building these forty expressions cost more than the statement
    they go into (expressions are immutable, so every page may share them)."""
    media_count = (
        select(func.count())
        .where(CredentialMedia.version_id == LATEST.id)
        .correlate(LATEST)
        .scalar_subquery()
    )
    columns: dict[str, Any] = {
        "id": Credential.id,
        "revision": Credential.revision,
        "archived_at": Credential.archived_at,
        "created_at": Credential.created_at,
        "updated_at": Credential.updated_at,
        "type_id": Credential.type_id,
        "holder_id": Credential.holder_id,
        "holder_name": User.name,
        "holder_name_key": User.name_key,
        "holder_email": User.email,
        "holder_is_active": User.is_active,
        "holder_company_id": User.company_id,
        "holder_created_at": User.created_at,
        "type_name": CredentialType.name,
        "type_name_key": CredentialType.name_key,
        "type_description": CredentialType.description,
        "type_issue_date_rule": CredentialType.issue_date_rule,
        "type_expiry_date_rule": CredentialType.expiry_date_rule,
        "type_media_rule": CredentialType.media_rule,
        "type_default_validity_months": CredentialType.default_validity_months,
        "type_never_expires": CredentialType.never_expires,
        "type_created_at": CredentialType.created_at,
        "type_updated_at": CredentialType.updated_at,
        "version_id": LATEST.id,
        "version_number": LATEST.number,
        "issue_date": LATEST.issue_date,
        "expiry_date": LATEST.expiry_date,
        "credential_number": LATEST.credential_number,
        "approval_status": LATEST.approval_status,
        "reviewed_by_id": LATEST.reviewed_by_id,
        "reviewed_at": LATEST.reviewed_at,
        "rejection_reason": LATEST.rejection_reason,
        "submitted_by_id": LATEST.submitted_by_id,
        "version_created_at": LATEST.created_at,
        "version_updated_at": LATEST.updated_at,
        "media_count": media_count,
        "counting_expiry_date": counting_expiry_date(on),
        "expiring_soon_days": func.coalesce(
            select(CredentialSettings.expiring_soon_days).scalar_subquery(),
            DEFAULT_EXPIRING_SOON_DAYS,
        ),
    }
    assert list(columns) == _FIELDS, "the columns must be ListedCredential's fields, in order"
    return tuple(column.label(name) for name, column in columns.items())


_FIELDS = [f.name for f in fields(ListedCredential)]


def select_listed_page(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    order: CredentialOrder,
    position: Position | None,
    *,
    backward: bool,
    limit: int,
    on: date,
) -> Select[Any]:
    """select_credentials_page's rows as ListedCredential's columns, the expiry date that
    counts judged on `on`."""
    statement = select_credentials_page(
        holder_visibility, conditions, order, position, backward=backward, limit=limit
    )
    return statement.with_only_columns(*_columns(on), maintain_column_froms=False)
