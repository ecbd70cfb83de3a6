"""Credential types: creating, changing and deleting them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import select_type_in_use
from models.credential_type import CredentialType, FieldRule, select_type_by_name_key
from models.job_role import select_type_required
from services.credentials.errors import CredentialErrorCode
from services.credentials.policy import can_configure
from services.errors import DomainError
from services.text import has_control_characters
from services.viewer import Viewer

MAX_VALIDITY_MONTHS = 1200
_UNCHANGED = object()


@dataclass
class TypeChanges:
    """Fields to set; None leaves a field as it is (for creation: its default)."""

    name: str | None = None
    description: str | None = None
    issue_date_rule: FieldRule | None = None
    expiry_date_rule: FieldRule | None = None
    media_rule: FieldRule | None = None
    never_expires: bool | None = None
    # _UNCHANGED keeps it; None clears it.
    default_validity_months: int | object | None = _UNCHANGED


def _require_configure(viewer: Viewer) -> None:
    if not can_configure(viewer):
        raise DomainError(
            CredentialErrorCode.PERMISSION_DENIED,
            "Managing credential types needs the CREDENTIALS_MANAGE permission.",
        )


async def get_type(session: AsyncSession, type_id: int) -> CredentialType:
    credential_type = await session.get(CredentialType, type_id)
    if credential_type is None:
        raise DomainError(CredentialErrorCode.NOT_FOUND, "Credential type doesn't exist.", "id")
    return credential_type


async def _apply(
    session: AsyncSession, credential_type: CredentialType, changes: TypeChanges
) -> None:
    if changes.name is not None:
        name = changes.name.strip()
        if not name:
            raise DomainError(CredentialErrorCode.REQUIRED, "A name is required.", "name")
        if len(name) > 200:
            raise DomainError(
                CredentialErrorCode.INVALID, "The name is over 200 characters.", "name"
            )
        if has_control_characters(name):
            raise DomainError(
                CredentialErrorCode.INVALID, "The name must not contain control characters.", "name"
            )
        same = await session.scalar(select_type_by_name_key(name.casefold()))
        if same is not None and same is not credential_type:
            raise DomainError(
                CredentialErrorCode.DUPLICATE_NAME,
                f"A credential type named {same.name!r} already exists.",
                "name",
            )
        credential_type.name = name
    if changes.description is not None:
        if has_control_characters(changes.description, multiline=True):
            raise DomainError(
                CredentialErrorCode.INVALID,
                "The description must not contain control characters.",
                "description",
            )
        credential_type.description = changes.description.strip()
    for field in ("issue_date_rule", "expiry_date_rule", "media_rule"):
        rule = getattr(changes, field)
        if rule is not None:
            setattr(credential_type, field, rule)
    if changes.never_expires is not None:
        credential_type.never_expires = changes.never_expires
    if changes.default_validity_months is not _UNCHANGED:
        months = changes.default_validity_months
        if months is not None and not (
            isinstance(months, int) and 1 <= months <= MAX_VALIDITY_MONTHS
        ):
            raise DomainError(
                CredentialErrorCode.INVALID,
                f"The default validity must be 1 to {MAX_VALIDITY_MONTHS} months.",
                "defaultValidityMonths",
            )
        credential_type.default_validity_months = months
    _check_consistent(credential_type)


def _check_consistent(credential_type: CredentialType) -> None:
    if credential_type.never_expires:
        # A type that never expires has no expiry date to ask for or to propose.
        credential_type.expiry_date_rule = FieldRule.NOT_USED
        if credential_type.default_validity_months is not None:
            raise DomainError(
                CredentialErrorCode.INVALID,
                "A type that never expires cannot have a default validity period.",
                "defaultValidityMonths",
            )
    elif credential_type.expiry_date_rule is FieldRule.NOT_USED:
        raise DomainError(
            CredentialErrorCode.INVALID,
            "The expiry date can only be NOT_USED for a type that never expires.",
            "expiryDateRule",
        )
    if (
        credential_type.default_validity_months is not None
        and credential_type.issue_date_rule is FieldRule.NOT_USED
    ):
        raise DomainError(
            CredentialErrorCode.INVALID,
            "A default validity period needs the issue date to be used.",
            "defaultValidityMonths",
        )


@asynccontextmanager
async def _unique_name(session: AsyncSession, name: str) -> AsyncIterator[None]:
    """Flushes the block's changes in a savepoint: a name taken by a concurrent
    transaction after our check is DUPLICATE_NAME, not a crash."""
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError:
        raise DomainError(
            CredentialErrorCode.DUPLICATE_NAME,
            f"A credential type named {name.strip()!r} already exists.",
            "name",
        ) from None


async def create_type(
    session: AsyncSession, viewer: Viewer, changes: TypeChanges, now: datetime
) -> CredentialType:
    _require_configure(viewer)
    if changes.name is None:
        raise DomainError(CredentialErrorCode.REQUIRED, "A name is required.", "name")
    credential_type = CredentialType(
        organization_id=viewer.organization_id,
        name="",
        description="",
        issue_date_rule=FieldRule.REQUIRED,
        expiry_date_rule=FieldRule.REQUIRED,
        media_rule=FieldRule.OPTIONAL,
        never_expires=False,
        default_validity_months=None,
        created_at=now,
        updated_at=now,
    )
    await _apply(session, credential_type, changes)
    async with _unique_name(session, credential_type.name):
        session.add(credential_type)
    return credential_type


async def update_type(
    session: AsyncSession, viewer: Viewer, type_id: int, changes: TypeChanges, now: datetime
) -> CredentialType:
    _require_configure(viewer)
    credential_type = await get_type(session, type_id)
    async with _unique_name(session, changes.name or credential_type.name):
        with session.no_autoflush:
            await _apply(session, credential_type, changes)
        credential_type.updated_at = now
    return credential_type


async def delete_type(session: AsyncSession, viewer: Viewer, type_id: int) -> None:
    _require_configure(viewer)
    credential_type = await get_type(session, type_id)
    in_use = await session.scalar(select_type_in_use(type_id))
    if in_use:
        raise DomainError(
            CredentialErrorCode.TYPE_IN_USE,
            f"{credential_type.name!r} still has credentials (archived ones count): "
            "delete them first.",
            "id",
        )
    role = await session.scalar(select_type_required(type_id))
    if role is not None:
        raise DomainError(
            CredentialErrorCode.TYPE_IN_USE,
            f"{credential_type.name!r} is required by the job role {role!r}: take it out "
            "of the role's requirements first.",
            "id",
        )
    await session.delete(credential_type)
    await session.flush()
