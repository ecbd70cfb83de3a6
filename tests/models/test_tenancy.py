"""Tenant isolation lives in the session: no statement reads or writes across organizations."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import aliased

from models.company import Company
from models.organization import Organization
from models.tenancy import TenantViolation, scoped_select, scoped_to, unscoped
from models.token import ApiToken
from models.user import User
from server.database import Database
from tests.world import World


async def test_a_scoped_session_sees_only_its_organization(
    database: Database, world: World
) -> None:
    # given a session of the north organization, with statements that name no organization
    async with database.read(scoped_to(world.north_id)) as session:
        users = list(await session.scalars(select(User)))
        user_count = await session.scalar(select(func.count(User.id)))
        organizations = list(await session.scalars(select(Organization)))
        tokens = list(await session.scalars(select(ApiToken)))
        other = aliased(User)
        joined = list(
            await session.scalars(select(other).join(Company, Company.id == other.company_id))
        )
        south_user = await session.get(User, world.user_ids["south_worker"])
    # then only north rows come back, through aliases and joins too
    assert {u.organization_id for u in users} == {world.north_id}
    assert user_count == len(users) == 9
    assert [o.id for o in organizations] == [world.north_id]
    assert {t.organization_id for t in tokens} == {world.north_id}
    assert {u.organization_id for u in joined} == {world.north_id}
    assert south_user is None


async def test_bulk_updates_and_deletes_stay_inside_the_organization(
    database: Database, world: World
) -> None:
    # when a north session renames and deletes "every" company
    async with database.transaction(scoped_to(world.north_id)) as session:
        await session.execute(update(Company).values(address="north only"))
        await session.execute(delete(Company).where(Company.name == "Southern Cranes"))
    # then the south company is untouched
    async with database.read(unscoped()) as session:
        south = await session.get(Company, world.south_company_id)
    assert south is not None
    assert south.address is None


async def _smuggle_company(database: Database, world: World) -> None:
    async with database.transaction(scoped_to(world.north_id)) as session:
        session.add(Company(organization_id=world.south_id, name="Smuggled"))


async def _move_company(database: Database, world: World) -> None:
    async with database.transaction(scoped_to(world.north_id)) as session:
        company = await session.get(Company, world.acme_id)
        assert company is not None
        company.organization_id = world.south_id


async def test_writing_a_row_of_another_organization_is_refused(
    database: Database, world: World
) -> None:
    with pytest.raises(TenantViolation, match="organization"):
        await _smuggle_company(database, world)
    with pytest.raises(TenantViolation, match="move"):
        await _move_company(database, world)
    async with database.read(unscoped()) as session:
        smuggled = await session.scalar(select(Company).where(Company.name == "Smuggled"))
        acme = await session.get(Company, world.acme_id)
    assert smuggled is None
    assert acme is not None
    assert acme.organization_id == world.north_id


async def test_new_rows_take_the_session_organization(database: Database, world: World) -> None:
    async with database.transaction(scoped_to(world.south_id)) as session:
        company = Company(name="Implicit")
        session.add(company)
    assert company.organization_id == world.south_id


async def test_a_session_without_a_declared_scope_refuses_to_run(database: Database) -> None:
    async with database.read({}) as session:
        with pytest.raises(TenantViolation, match="no tenant scope"):
            await session.scalars(select(User))


async def test_a_single_statement_read_sees_only_its_organization(
    database: Database, world: World
) -> None:
    # given statements that name no organization, one with a join and a subquery
    other = aliased(User)
    token_count = select(func.count(ApiToken.id)).where(ApiToken.user_id == other.id)
    statement = (
        select(
            other.id, other.organization_id, Company.organization_id, token_count.scalar_subquery()
        )
        .outerjoin(Company, Company.id == other.company_id)
        .order_by(other.id)
    )
    # when north reads them outside a session, and an unscoped read does too
    north = await database.read_rows(scoped_to(world.north_id), statement)
    everyone = await database.read_rows(unscoped(), statement)
    organizations = await database.read_rows(scoped_to(world.south_id), select(Organization.id))
    # then north's read has north's rows only, with the same answers the unscoped read has
    assert {row[1] for row in north} == {world.north_id}
    assert {row[2] for row in north} <= {world.north_id, None}
    assert {row[1] for row in everyone} == {world.north_id, world.south_id}
    assert [tuple(row) for row in north] == [
        tuple(row) for row in everyone if row[1] == world.north_id
    ]
    assert [row[0] for row in organizations] == [world.south_id]


async def test_a_single_statement_read_without_a_declared_scope_is_refused(
    database: Database,
) -> None:
    with pytest.raises(TenantViolation, match="no tenant scope"):
        await database.read_rows({}, select(User.id))


async def test_a_single_statement_read_opens_no_transaction_on_sqlite(
    database: Database, world: World
) -> None:
    if not database.is_sqlite:
        pytest.skip("PostgreSQL reads it in autocommit mode: no BEGIN is sent either")
    sent: list[str] = []

    def record(_: object, __: object, statement: str, *___: object) -> None:
        sent.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        await database.read_rows(scoped_to(world.north_id), select(User.id))
        async with database.read(scoped_to(world.north_id)) as session:
            await session.execute(select(User.id))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    # then the single read sent its SELECT alone; the session began a transaction first
    assert [s.split()[0] for s in sent] == ["SELECT", "BEGIN", "SELECT"]


async def test_a_statement_scoped_already_is_read_as_it_is_and_never_across(
    database: Database, world: World
) -> None:
    # given a statement scoped to the north once, and kept
    north = scoped_select(select(User.id, User.organization_id), scoped_to(world.north_id))
    # then scoping it again to the north changes nothing; read for the south, the south's
    # scope is the one that holds
    assert scoped_select(north, scoped_to(world.north_id)) is north
    north_rows = await database.read_rows(scoped_to(world.north_id), north)
    south_rows = await database.read_rows(scoped_to(world.south_id), north)
    assert {row[1] for row in north_rows} == {world.north_id}
    assert south_rows
    assert {row[1] for row in south_rows} == {world.south_id}
