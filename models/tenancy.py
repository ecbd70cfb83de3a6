"""Tenant isolation, enforced by the session rather than by each query's author.

A session is opened either for one organization (`scoped_to`) or, for the few system
tasks that must cross tenants (token lookup, migrations, the CLI), explicitly unscoped.
Every ORM statement of a scoped session gets `organization_id = :org` added to every
tenant-owned entity it touches, relationship and alias loads included, and a flush refuses
rows of another organization. A session that declared neither refuses to run statements:
forgetting the scope fails loudly instead of leaking. A read outside any session
(`server.database.Database.read_rows`) gets the same criteria from `scoped_select`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypeVarTuple

from sqlalchemy import Select, event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, with_loader_criteria
from sqlalchemy.sql.base import ExecutableOption

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


def _require_scope(info: Mapping[str, Any]) -> int | None:
    value = info.get(_ORGANIZATION_KEY)
    if value is None and not info.get(_UNSCOPED_KEY):
        raise TenantViolation(
            "this session has no tenant scope: open it with scoped_to(organization_id) "
            "or, for a system task, unscoped()"
        )
    return int(value) if value is not None else None


@lru_cache(maxsize=1024)
def _criteria(organization_id: int) -> tuple[ExecutableOption, ...]:
    """The options that keep a statement inside one organization, made once per
    organization: they are immutable, and the organization becomes a bound parameter, so
    every organization shares one compiled form of each statement."""
    return (
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.organization_id == organization_id,
            include_aliases=True,
        ),
        with_loader_criteria(Organization, Organization.id == organization_id),
    )


_Columns = TypeVarTuple("_Columns")


def scoped_select(statement: Select[*_Columns], info: Mapping[str, Any]) -> Select[*_Columns]:
    """`statement` as a session opened with `info` would run it, for a read outside any
    session: the same organization criteria on every tenant-owned entity it touches,
    subqueries and aliases included. Like a session, this refuses an `info` that declared
    neither scope. A statement scoped to another organization is scoped again: the
    criteria given last are the ones that hold, so it reads `info`'s organization."""
    organization_id = _require_scope(info)
    if organization_id is None:
        return statement
    criteria = _criteria(organization_id)
    given = statement._with_options[-len(criteria) :]
    if len(given) == len(criteria) and all(a is b for a, b in zip(given, criteria, strict=True)):
        # Scoped already, by this function: a statement built once and kept, whose
        # memoized cache key a copy would lose.
        return statement
    return statement.options(*criteria)


@event.listens_for(TenantSession, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    organization_id = _require_scope(state.session.info)
    if organization_id is None or state.is_column_load or state.is_relationship_load:
        return  # unscoped, or a load whose parent statement already carries the criteria
    if not (state.is_select or state.is_update or state.is_delete):
        return
    state.statement = state.statement.options(*_criteria(organization_id))


@event.listens_for(TenantSession, "before_flush")
def _check_written_rows(session: Session, _: UOWTransaction, __: Any) -> None:
    organization_id = _require_scope(session.info)
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
