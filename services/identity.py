"""Organizations, users, companies, permission sets and tokens: creation and authentication."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from models.company import (
    Company,
    CompanyKeyContact,
    CompanyManager,
    select_company_named,
    select_overseen_company_ids,
)
from models.organization import Organization
from models.permission import Permission, PermissionSet, granted, select_permission_set_named
from models.token import (
    TOKEN_HASH,
    ApiToken,
    LiveViewerRow,
    LiveViewerSelect,
    select_live_viewer,
    select_live_viewer_by_token_id,
    touch_token,
)
from models.user import User, select_user_by_email
from services.errors import DomainError
from services.text import has_control_characters
from services.tokens import mint_token, token_digest, token_prefix
from services.viewer import Viewer

# Recording last use at most this often keeps authentication free of writes on busy tokens.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class IdentityErrorCode(Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    DUPLICATE = "DUPLICATE"
    NOT_FOUND = "NOT_FOUND"


def _required(value: str, field: str, limit: int = 200) -> str:
    value = value.strip()
    if not value:
        raise DomainError(IdentityErrorCode.REQUIRED, f"{field} must not be empty", field)
    if len(value) > limit:
        raise DomainError(
            IdentityErrorCode.INVALID, f"{field} is longer than {limit} characters", field
        )
    if has_control_characters(value):
        raise DomainError(
            IdentityErrorCode.INVALID, f"{field} must not contain control characters", field
        )
    return value


async def create_organization(session: AsyncSession, name: str) -> Organization:
    organization = Organization(name=_required(name, "name"))
    session.add(organization)
    await session.flush()
    return organization


async def require_organization(session: AsyncSession, organization_id: int) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise DomainError(
            IdentityErrorCode.NOT_FOUND, f"no organization {organization_id}", "organization"
        )
    return organization


def parse_permissions(names: Iterable[str]) -> list[Permission]:
    granted: list[Permission] = []
    for name in names:
        try:
            permission = Permission(name.strip().upper())
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise DomainError(
                IdentityErrorCode.INVALID,
                f"unknown permission {name!r}: known permissions are {known}",
                "permissions",
            ) from None
        if permission not in granted:
            granted.append(permission)
    return granted


async def create_permission_set(
    session: AsyncSession, organization_id: int, name: str, permissions: Iterable[str]
) -> PermissionSet:
    await require_organization(session, organization_id)
    name = _required(name, "name")
    existing = await session.scalar(select_permission_set_named(organization_id, name))
    if existing is not None:
        raise DomainError(
            IdentityErrorCode.DUPLICATE, f"a permission set named {name!r} exists", "name"
        )
    permission_set = PermissionSet(
        organization_id=organization_id,
        name=name,
        permissions=[p.value for p in parse_permissions(permissions)],
    )
    session.add(permission_set)
    await session.flush()
    return permission_set


async def create_company(
    session: AsyncSession,
    organization_id: int,
    name: str,
    contact_email: str | None = None,
    contact_phone: str | None = None,
) -> Company:
    await require_organization(session, organization_id)
    name = _required(name, "name")
    existing = await session.scalar(select_company_named(organization_id, name))
    if existing is not None:
        raise DomainError(IdentityErrorCode.DUPLICATE, f"a company named {name!r} exists", "name")
    company = Company(
        organization_id=organization_id,
        name=name,
        contact_email=contact_email,
        contact_phone=contact_phone,
    )
    session.add(company)
    await session.flush()
    return company


_Owned = TypeVar("_Owned", User, Company, PermissionSet)


async def _get_in_organization(
    session: AsyncSession, model: type[_Owned], organization_id: int, object_id: int, field: str
) -> _Owned:
    found = await session.get(model, object_id)
    if found is None or found.organization_id != organization_id:
        raise DomainError(
            IdentityErrorCode.NOT_FOUND,
            f"no {model.__name__.lower()} {object_id} in this organization",
            field,
        )
    return found


async def create_user(
    session: AsyncSession,
    organization_id: int,
    name: str,
    email: str,
    *,
    company_id: int | None = None,
    permission_set_id: int | None = None,
    is_active: bool = True,
) -> User:
    await require_organization(session, organization_id)
    name = _required(name, "name")
    email = _required(email, "email", 320)
    if not _EMAIL.match(email):
        raise DomainError(IdentityErrorCode.INVALID, f"{email!r} is not an email address", "email")
    duplicate = await session.scalar(select_user_by_email(organization_id, email))
    if duplicate is not None:
        raise DomainError(
            IdentityErrorCode.DUPLICATE, f"a user with email {email!r} exists", "email"
        )
    if company_id is not None:
        await _get_in_organization(session, Company, organization_id, company_id, "company")
    if permission_set_id is not None:
        await _get_in_organization(
            session, PermissionSet, organization_id, permission_set_id, "permission_set"
        )
    user = User(
        organization_id=organization_id,
        name=name,
        email=email,
        company_id=company_id,
        permission_set_id=permission_set_id,
        is_active=is_active,
    )
    session.add(user)
    await session.flush()
    return user


async def add_company_manager(
    session: AsyncSession, organization_id: int, company_id: int, user_id: int
) -> None:
    await _get_in_organization(session, Company, organization_id, company_id, "company")
    await _get_in_organization(session, User, organization_id, user_id, "user")
    await session.merge(
        CompanyManager(organization_id=organization_id, company_id=company_id, user_id=user_id)
    )


async def add_key_contact(
    session: AsyncSession, organization_id: int, company_id: int, user_id: int
) -> None:
    await _get_in_organization(session, Company, organization_id, company_id, "company")
    await _get_in_organization(session, User, organization_id, user_id, "user")
    await session.merge(
        CompanyKeyContact(organization_id=organization_id, company_id=company_id, user_id=user_id)
    )


async def issue_token(
    session: AsyncSession, user: User, name: str, token: str | None = None
) -> tuple[ApiToken, str]:
    """Store a new token for `user`; the clear token is returned once and never stored."""
    token = token or mint_token()
    record = ApiToken(
        organization_id=user.organization_id,
        user_id=user.id,
        name=_required(name, "name"),
        token_hash=token_digest(token),
        prefix=token_prefix(token),
    )
    session.add(record)
    await session.flush()
    return record, token


async def revoke_token(
    session: AsyncSession, organization_id: int, token_id: int, now: datetime
) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or token.organization_id != organization_id:
        raise DomainError(IdentityErrorCode.NOT_FOUND, f"no token {token_id}", "id")
    if token.revoked_at is None:
        token.revoked_at = now
    return token


def select_viewer_of_token() -> LiveViewerSelect:
    """The one row `viewer_of_row` reads for a token given as `token_parameters`; no row
    if the token is unknown or revoked, or its user inactive. Run it unscoped: the token
    tells the organization."""
    return select_live_viewer()


def token_parameters(token: str) -> dict[str, str]:
    """The parameters of `select_viewer_of_token` for a clear token (only its digest)."""
    return {TOKEN_HASH: token_digest(token)}


def viewer_of_row(row: LiveViewerRow) -> Viewer:
    """The viewer of a row of `select_viewer_of_token` (or by token id)."""
    token_id, _, user_id, organization_id, company_id, permissions, managed, contact_of = row
    return Viewer(
        user_id=user_id,
        organization_id=organization_id,
        token_id=token_id,
        permissions=granted(permissions),
        company_id=company_id,
        managed_company_ids=_ids(managed),
        key_contact_company_ids=_ids(contact_of),
    )


def last_use_is_stale(row: LiveViewerRow, now: datetime) -> bool:
    """Whether the token's last use, in a row of `select_viewer_of_token`, is worth
    recording now."""
    last_used = row[1]
    return last_used is None or now - last_used >= LAST_USED_RESOLUTION


def _ids(joined: str | None) -> frozenset[int]:
    return frozenset(int(key) for key in joined.split(",")) if joined else frozenset()


async def find_viewer_by_token_id(session: AsyncSession, token_id: int) -> Viewer | None:
    """The viewer a token stands for now, by the token's id (a signed link names it); None
    once it is revoked or its user inactive. `session` is unscoped."""
    row = (await session.execute(select_live_viewer_by_token_id(token_id))).first()
    return viewer_of_row(row) if row is not None else None


async def _viewer(
    session: AsyncSession, user: User, permission_set: PermissionSet | None, token_id: int
) -> Viewer:
    managed: set[int] = set()
    contact_of: set[int] = set()
    for company_id, is_contact in await session.execute(select_overseen_company_ids(user.id)):
        (contact_of if is_contact else managed).add(company_id)
    return Viewer(
        user_id=user.id,
        organization_id=user.organization_id,
        token_id=token_id,
        permissions=permission_set.granted() if permission_set else frozenset(),
        company_id=user.company_id,
        managed_company_ids=frozenset(managed),
        key_contact_company_ids=frozenset(contact_of),
    )


async def viewer_of_user(session: AsyncSession, user_id: int) -> Viewer:
    """The viewer an operator acts as on the command line (no token: token id 0); the
    user must exist and be active. `session` is unscoped."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise DomainError(IdentityErrorCode.NOT_FOUND, f"no active user {user_id}", "user")
    permission_set = (
        await session.get(PermissionSet, user.permission_set_id)
        if user.permission_set_id is not None
        else None
    )
    return await _viewer(session, user, permission_set, 0)


async def record_token_use(session: AsyncSession, token_id: int, now: datetime) -> None:
    await session.execute(touch_token(token_id, now, now - LAST_USED_RESOLUTION))
