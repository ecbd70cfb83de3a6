"""The rows of a credentials export: one per credential with its holder, type and latest
version, in one joined statement streamed in id order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select

from models.credential import Credential
from models.credential_filter import LATEST, ExpiryWindow, expiry_status_of, listed
from models.credential_type import CredentialType
from models.user import User


def select_export_rows(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    window: ExpiryWindow,
) -> Select[*tuple[Any, ...]]:
    """(holder id, holder company id, email, name, type name, issue, expiry, number,
    external id, approval status, expiry status, archived at) per credential the viewer
    may see. `conditions` come from CredentialFilter.clauses. Every column of the row is
    the latest version's, its expiry status too (of its expiry date on the window's day):
    beside a pending renewal's dates, the status of the older version that still counts
    would contradict them."""
    return (
        listed(
            User.id,
            User.company_id,
            User.email,
            User.name,
            CredentialType.name,
            LATEST.issue_date,
            LATEST.expiry_date,
            LATEST.credential_number,
            Credential.external_id,
            LATEST.approval_status,
            expiry_status_of(LATEST.expiry_date, window),
            Credential.archived_at,
        )
        .where(holder_visibility, *conditions)
        .order_by(Credential.id)
    )
