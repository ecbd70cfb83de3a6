"""The rows of a credentials export: one per credential with its holder, type and latest
version, in one joined statement streamed in id order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select

from models.credential import Credential
from models.credential_filter import (
    LATEST,
    ExpiryWindow,
    counted_expiry_status,
    listed,
)
from models.credential_type import CredentialType
from models.user import User


def select_export_rows(
    holder_visibility: ColumnElement[bool],
    conditions: Sequence[ColumnElement[bool]],
    window: ExpiryWindow,
) -> Select[*tuple[Any, ...]]:
    """(holder id, holder company id, email, name, type name, issue, expiry, number,
    external id, approval status, expiry status, archived at) per credential the viewer
    may see. `conditions` come from CredentialFilter.clauses; the expiry status is the
    API's `expiryStatus` on the window's day."""
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
            counted_expiry_status(window),
            Credential.archived_at,
        )
        .where(holder_visibility, *conditions)
        .order_by(Credential.id)
    )
