"""Indexes back the dashboard's common filters and orders, on PostgreSQL.

With a few thousand rows PostgreSQL rightly prefers to read small tables whole; so the
plan of each page is asked for with sequential scans priced out: each common filter and
order must then be served by the index meant for it, which shows the index exists and
fits the statement the list really runs (the tenant condition included). PostgreSQL
only: these are its plans."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, true

from models import (
    ApprovalStatus,
    Company,
    Credential,
    CredentialType,
    CredentialVersion,
    FieldRule,
    Organization,
)
from models.credential_filter import LATEST, ArchivedFilter, CredentialFilter
from models.credential_queries import (
    CredentialOrder,
    CredentialOrderField,
    select_credentials_page,
)
from models.tenancy import unscoped
from models.user import User
from server.database import Database
from tests.backends import PostgresRun

COMPANIES = 20
USERS = 400
TYPES = 40
PER_USER = 10  # 4,000 credentials
DAY = date(2026, 11, 28)


@pytest.fixture
async def postgres(postgres_run: PostgresRun | None) -> AsyncIterator[Database]:
    if postgres_run is None:
        pytest.skip("query plans are checked on PostgreSQL: set TEST_POSTGRES_URL")
    database = Database(postgres_run.url)
    await postgres_run.empty(database)
    try:
        yield database
    finally:
        await database.dispose()


async def _seed(database: Database) -> int:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    async with database.transaction(unscoped()) as session:
        organization = Organization(name="Plans")
        session.add(organization)
        await session.flush()
        org = organization.id
        companies = [Company(organization_id=org, name=f"Company {i}") for i in range(COMPANIES)]
        types = [
            CredentialType(
                organization_id=org,
                name=f"Type {i}",
                issue_date_rule=FieldRule.REQUIRED,
                expiry_date_rule=FieldRule.REQUIRED,
                media_rule=FieldRule.OPTIONAL,
            )
            for i in range(TYPES)
        ]
        session.add_all([*companies, *types])
        await session.flush()
        users = [
            User(
                organization_id=org,
                name=f"Worker {i:04}",
                email=f"w{i}@example.com",
                company_id=companies[i % COMPANIES].id,
            )
            for i in range(USERS)
        ]
        session.add_all(users)
        await session.flush()
        credentials = []
        for u, user in enumerate(users):
            for k in range(PER_USER):
                number = u * PER_USER + k
                credentials.append(
                    Credential(
                        organization_id=org,
                        type_id=types[(u + k) % TYPES].id,
                        holder_id=user.id,
                        archived_at=now if number % 97 == 0 else None,
                        updated_at=now + timedelta(seconds=number),
                    )
                )
        session.add_all(credentials)
        await session.flush()
        session.add_all(
            CredentialVersion(
                organization_id=org,
                credential_id=credential.id,
                number=1,
                issue_date=date(2025, 1, 1),
                expiry_date=date(2026, 1, 1) + timedelta(days=n % 1500),
                approval_status=ApprovalStatus.PENDING if n % 89 == 0 else ApprovalStatus.APPROVED,
            )
            for n, credential in enumerate(credentials)
        )
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE")
    return org


BY_EXPIRY = CredentialOrder(CredentialOrderField.EXPIRY_DATE, descending=False)

# (case, filter, order, the index that must serve it)
CASES: list[tuple[str, CredentialFilter, CredentialOrder, str]] = [
    ("newest first", CredentialFilter(), CredentialOrder(), "pk_credentials"),
    # Ordered by expiry: newest first, PostgreSQL may rightly walk the primary key instead.
    ("a type", CredentialFilter(type_ids=[3]), BY_EXPIRY, "ix_credentials_type_id"),
    ("a holder", CredentialFilter(holder_ids=[17]), BY_EXPIRY, "ix_credentials_holder_id"),
    ("a company", CredentialFilter(company_ids=[5]), BY_EXPIRY, "ix_users_company_id"),
    (
        "pending approval",
        CredentialFilter(approval_statuses=[ApprovalStatus.PENDING]),
        CredentialOrder(),
        "ix_credential_versions_approval_status",
    ),
    (
        "expiring in a week",
        CredentialFilter(expires_from=DAY, expires_to=DAY + timedelta(days=7)),
        CredentialOrder(),
        "ix_credential_versions_expiry_date",
    ),
    (
        "archived only",
        CredentialFilter(archived=ArchivedFilter.ONLY),
        CredentialOrder(),
        "ix_credentials_archived_at",
    ),
    (
        "last updated",
        CredentialFilter(),
        CredentialOrder(CredentialOrderField.UPDATED_AT, descending=True),
        "ix_credentials_organization_id_updated_at",
    ),
    (
        "holder name",
        CredentialFilter(),
        CredentialOrder(CredentialOrderField.HOLDER_NAME),
        "ix_users_organization_id_name_key",
    ),
]


def _tenant(organization_id: int) -> list[ColumnElement[bool]]:
    """What the tenant session adds to each table of the page's statement."""
    return [
        table.organization_id == organization_id
        for table in (Credential, User, CredentialType, LATEST)
    ]


@pytest.mark.parametrize(
    ("credential_filter", "order", "index"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_common_dashboard_pages_are_served_by_indexes(
    credential_filter: CredentialFilter, order: CredentialOrder, index: str, postgres: Database
) -> None:
    # given 4,000 credentials of 400 workers in 20 companies, analysed
    organization_id = await _seed(postgres)
    conditions = [*credential_filter.clauses(), *_tenant(organization_id)]
    statement = select_credentials_page(true(), conditions, order, None, backward=False, limit=21)
    sql = statement.compile(
        dialect=postgres.engine.dialect,
        compile_kwargs={"literal_binds": True},
    )

    # when PostgreSQL plans the page, sequential scans priced out
    async with postgres.engine.connect() as connection:
        await connection.exec_driver_sql("SET enable_seqscan = off")
        rows = await connection.exec_driver_sql(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in rows)

    # then the index meant for the filter or order serves it
    assert index in plan, plan
    assert "Seq Scan on credentials" not in plan, plan
