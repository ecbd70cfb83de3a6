"""The rows of a credentials export: one per credential with its holder, type and latest
version, in one joined statement streamed in id order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from models.credential import Credential, CredentialVersion
from models.credential_queries import CredentialFilter
from models.credential_type import CredentialType
from models.user import User


def select_export_rows(
    holder_visibility: ColumnElement[bool], credential_filter: CredentialFilter
) -> Select[*tuple[Any, ...]]:
    """(holder id, holder company id, email, name, type name, issue, expiry, number,
    external id, approval status, archived at) per credential the viewer may see."""
    return (
        select(
            User.id,
            User.company_id,
            User.email,
            User.name,
            CredentialType.name,
            CredentialVersion.issue_date,
            CredentialVersion.expiry_date,
            CredentialVersion.credential_number,
            Credential.external_id,
            CredentialVersion.approval_status,
            Credential.archived_at,
        )
        .select_from(Credential)
        .join(User, User.id == Credential.holder_id)
        .join(CredentialType, CredentialType.id == Credential.type_id)
        .join(
            CredentialVersion,
            (CredentialVersion.credential_id == Credential.id)
            & (CredentialVersion.number == Credential.latest_version_number),
        )
        .where(holder_visibility, *credential_filter.clauses())
        .order_by(Credential.id)
    )
