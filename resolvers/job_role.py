"""Job-role reads: the roles, and compliance of one person, a role's members or a
company's workers on a day."""

from __future__ import annotations

from datetime import date

from strawberry import Info

from models.job_role import JobRole, select_company_memberships, select_job_roles, select_members
from models.user import User
from resolvers.context import RequestContext
from resolvers.credential_list import expiry_window
from services.job_roles.compliance import UserCompliance, Window, compliance_of
from services.visibility import users_visible_to


async def resolve_job_roles(info: Info[RequestContext, None]) -> list[JobRole]:
    context = info.context
    async with context.read() as session:
        roles = list(await session.scalars(select_job_roles()))
    for role in roles:
        context.loaders.job_roles.role_by_id.prime(role.id, role)
    return roles


async def resolve_job_roles_by_id(
    info: Info[RequestContext, None], ids: list[int | None]
) -> list[JobRole | None]:
    found = await info.context.loaders.job_roles.role_by_id.load_many(
        [i for i in ids if i is not None]
    )
    by_id = {r.id: r for r in found if r is not None}
    return [by_id.get(i) if i is not None else None for i in ids]


# A person's compliance with a role, and the person (fields read from the model itself).
Judged = tuple[UserCompliance, User]


async def _with_users(context: RequestContext, results: list[UserCompliance]) -> list[Judged]:
    """Each result with its person, loaded in one statement for the whole report."""
    users = await context.loaders.user_by_id.load_many(sorted({r.user_id for r in results}))
    by_id = {u.id: u for u in users if u is not None}
    return [(r, by_id[r.user_id]) for r in results if r.user_id in by_id]


async def _window(context: RequestContext, on: date | None) -> Window:
    window = await expiry_window(context, on)
    return Window(on=window.on, soon_until=window.soon_until)


async def resolve_compliance(
    info: Info[RequestContext, None], user_id: int | None, role_id: int | None, on: date | None
) -> Judged | None:
    """Null when the user is not visible or the role doesn't exist. The user need not hold
    the role: "would they meet it?" is a fair question before assigning them."""
    context = info.context
    if user_id is None or role_id is None:
        return None
    loaders = context.loaders
    user = await loaders.user_by_id.load(user_id)
    role = await loaders.job_roles.role_by_id.load(role_id)
    if user is None or role is None:
        return None
    window = await _window(context, on)
    async with context.read() as session:
        return (await compliance_of(session, [(user.id, role.id)], window))[0], user


async def resolve_role_compliance(
    info: Info[RequestContext, None], role_id: int, on: date | None
) -> tuple[date, list[Judged]]:
    """Every member of the role the viewer may see, by name."""
    context = info.context
    window = await _window(context, on)
    visible = users_visible_to(context.require_viewer())
    async with context.read() as session:
        rows = (await session.execute(select_members([role_id], visible))).all()
        pairs = [(user_id, r) for r, user_id in rows]
        results = await compliance_of(session, pairs, window)
    return window.on, await _with_users(context, results)


async def resolve_company_compliance(
    info: Info[RequestContext, None], company_id: int, on: date | None
) -> tuple[date, list[Judged]]:
    """Every role of every worker of the company the viewer may see."""
    context = info.context
    window = await _window(context, on)
    visible = users_visible_to(context.require_viewer())
    async with context.read() as session:
        rows = (await session.execute(select_company_memberships(company_id, visible))).all()
        results = await compliance_of(session, [(u, r) for u, r in rows], window)
    return window.on, await _with_users(context, results)
