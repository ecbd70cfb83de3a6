"""Tenant isolation, enforced by the session rather than by each query's author.

A session is opened either for one organization (`scoped_to`) or, for the few system
tasks that must cross tenants (token lookup, migrations, the CLI), explicitly unscoped.
Every ORM statement of a scoped session gets `organization_id = :org` added to every
tenant-owned entity it touches, relationship and alias loads included, and a flush refuses
rows of another organization. A session that declared neither refuses to run statements:
forgetting the scope fails loudly instead of leaking.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria

from models.base import TenantOwned
from models.organization import Organization

_ORGANIZATION_KEY = "organization_id"
_UNSCOPED_KEY = "unscoped"


class TenantViolation(RuntimeError):
    """Code tried to read or write outside the organization its session belongs to."""


class TenantSession(Session):
    """The sync session class behind every AsyncSession of this service."""


def scoped_to(organization_id: int) -> dict[str, Any]:
    """`info` for a session that sees exactly one organization."""
    return {_ORGANIZATION_KEY: organization_id}


def unscoped() -> dict[str, Any]:
    """`info` for a system session that may cross organizations. Use sparingly."""
    return {_UNSCOPED_KEY: True}


def session_organization_id(session: Session) -> int | None:
    value = session.info.get(_ORGANIZATION_KEY)
    return int(value) if value is not None else None


def _require_scope(session: Session) -> int | None:
    organization_id = session_organization_id(session)
    if organization_id is None and not session.info.get(_UNSCOPED_KEY):
        raise TenantViolation(
            "this session has no tenant scope: open it with scoped_to(organization_id) "
            "or, for a system task, unscoped()"
        )
    return organization_id


@event.listens_for(TenantSession, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    organization_id = _require_scope(state.session)
    if organization_id is None or state.is_column_load or state.is_relationship_load:
        return  # unscoped, or a load whose parent statement already carries the criteria
    if not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.organization_id == organization_id,
            include_aliases=True,
        ),
        with_loader_criteria(Organization, Organization.id == organization_id),
    )


@event.listens_for(TenantSession, "before_flush")
def _check_written_rows(session: Session, _: UOWTransaction, __: Any) -> None:
    organization_id = _require_scope(session)
    if organization_id is None:
        return
    for obj in session.new:
        if isinstance(obj, TenantOwned):
            if obj.organization_id is None:
                obj.organization_id = organization_id
            elif obj.organization_id != organization_id:
                raise TenantViolation(
                    f"refusing to write a {type(obj).__name__} of organization "
                    f"{obj.organization_id} in a session of organization {organization_id}"
                )
        elif isinstance(obj, Organization):
            raise TenantViolation("organizations are created by unscoped system sessions only")
    for obj in session.dirty:
        if isinstance(obj, TenantOwned) and obj.organization_id != organization_id:
            raise TenantViolation(
                f"refusing to move a {type(obj).__name__} to organization {obj.organization_id}"
            )
