"""Demo data for the embedded default: one organization with a person in every role.

Demo tokens are derived from the secret key rather than stored in clear, so every start
in development can print them again. Production never loads demo data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.credential_type import FieldRule
from models.organization import select_organization_named
from models.permission import Permission
from models.token import select_token_by_digest
from models.user import select_user_by_email
from services import identity
from services.credentials import lifecycle
from services.credentials.types import TypeChanges, create_type
from services.credentials.validation import VersionDetails
from services.tokens import derive_token, token_digest
from services.viewer import Viewer

DEMO_ORGANIZATION = "Northwind Construction (demo)"


@dataclass(frozen=True)
class DemoUser:
    name: str
    email: str
    role: str
    permission_set: str | None = None
    company: str | None = None
    manages: str | None = None
    key_contact_of: str | None = None


PERMISSION_SETS = {
    "Administrator": [
        Permission.CREDENTIALS_MANAGE,
        Permission.USERS_MANAGE,
        Permission.COMPANIES_MANAGE,
    ],
    "Credentials manager": [Permission.CREDENTIALS_MANAGE],
    "Contractor manager": [Permission.COMPANIES_MANAGE],
}
COMPANIES = ("Acme Scaffolding", "Brightline Electrical")
USERS = (
    DemoUser("Ada Admin", "ada@northwind.example", "administrator", "Administrator"),
    DemoUser(
        "Casey Clerk", "casey@northwind.example", "credentials manager", "Credentials manager"
    ),
    DemoUser(
        "Morgan Mason",
        "morgan@northwind.example",
        "manages Acme Scaffolding",
        "Contractor manager",
        manages="Acme Scaffolding",
    ),
    DemoUser(
        "Kim Keller",
        "kim@brightline.example",
        "key contact, Brightline Electrical",
        company="Brightline Electrical",
        key_contact_of="Brightline Electrical",
    ),
    DemoUser(
        "Wes Walker", "wes@acme.example", "worker, Acme Scaffolding", company="Acme Scaffolding"
    ),
    DemoUser(
        "Riley Reed",
        "riley@brightline.example",
        "worker, Brightline Electrical",
        company="Brightline Electrical",
    ),
    DemoUser("Sam Shaw", "sam@northwind.example", "employee"),
)


def demo_token(secret_key: str, user: DemoUser) -> str:
    return derive_token(secret_key, "demo-token:" + user.email)


async def demo_organization_id(session: AsyncSession) -> int | None:
    return await session.scalar(select_organization_named(DEMO_ORGANIZATION))


DEMO_TYPES = (
    # name, default validity in months (None: never expires), uses an issue date
    ("Driver's licence", 60),
    ("First aid certificate", 36),
    ("High-risk work licence", 60),
    ("Working with children check", None),
)
# holder email, type name, issue date, then what happens to it
DEMO_CREDENTIALS = (
    ("wes@acme.example", "Driver's licence", date(2022, 3, 14), "approve"),
    ("wes@acme.example", "High-risk work licence", date(2021, 12, 2), "approve"),
    ("wes@acme.example", "First aid certificate", date(2023, 1, 20), "pending"),
    ("riley@brightline.example", "First aid certificate", date(2020, 6, 1), "approve"),
    ("riley@brightline.example", "Driver's licence", date(2024, 2, 29), "reject"),
    ("kim@brightline.example", "Working with children check", date(2019, 9, 9), "approve"),
    ("sam@northwind.example", "First aid certificate", date(2025, 11, 3), "archive"),
)


async def ensure_demo_tokens(session: AsyncSession, organization_id: int, secret_key: str) -> None:
    """Give each demo user the token derived from the current secret key (after SECRET_KEY
    changed, the printed tokens must still work)."""
    for demo in USERS:
        token = demo_token(secret_key, demo)
        if await session.scalar(select_token_by_digest(token_digest(token))):
            continue
        user = await session.scalar(select_user_by_email(organization_id, demo.email))
        if user is not None:
            await identity.issue_token(session, user, "demo token", token)


async def load_demo_data(
    session: AsyncSession, secret_key: str, now: datetime | None = None
) -> None:
    """Create the demo organization in `session` (an unscoped write transaction)."""
    organization = await identity.create_organization(session, DEMO_ORGANIZATION)
    org_id = organization.id
    permission_sets = {
        name: await identity.create_permission_set(session, org_id, name, perms)
        for name, perms in PERMISSION_SETS.items()
    }
    companies = {
        name: await identity.create_company(
            session, org_id, name, contact_email=f"office@{name.split()[0].lower()}.example"
        )
        for name in COMPANIES
    }
    users: dict[str, int] = {}
    for demo in USERS:
        user = await identity.create_user(
            session,
            org_id,
            demo.name,
            demo.email,
            company_id=companies[demo.company].id if demo.company else None,
            permission_set_id=(
                permission_sets[demo.permission_set].id if demo.permission_set else None
            ),
        )
        if demo.manages:
            await identity.add_company_manager(session, org_id, companies[demo.manages].id, user.id)
        if demo.key_contact_of:
            await identity.add_key_contact(
                session, org_id, companies[demo.key_contact_of].id, user.id
            )
        await identity.issue_token(session, user, "demo token", demo_token(secret_key, demo))
        users[demo.email] = user.id
    await _load_demo_credentials(session, org_id, users, now or utcnow())


async def _load_demo_credentials(
    session: AsyncSession, org_id: int, users: dict[str, int], now: datetime
) -> None:
    admin = Viewer(
        user_id=users[USERS[0].email],
        organization_id=org_id,
        token_id=0,
        permissions=frozenset(Permission),
        company_id=None,
        managed_company_ids=frozenset(),
        key_contact_company_ids=frozenset(),
    )
    type_ids = {}
    for name, months in DEMO_TYPES:
        changes = TypeChanges(
            name=name,
            never_expires=months is None,
            expiry_date_rule=FieldRule.NOT_USED if months is None else None,
            default_validity_months=months,
        )
        type_ids[name] = (await create_type(session, admin, changes, now)).id
    for email, type_name, issued, outcome in DEMO_CREDENTIALS:
        credential = await lifecycle.create_credential(
            session,
            admin,
            type_ids[type_name],
            users[email],
            VersionDetails(issue_date=issued, credential_number=f"DEMO-{issued:%y%m%d}"),
            now,
        )
        if outcome == "approve":
            await lifecycle.approve(session, admin, credential.id, now)
        elif outcome == "reject":
            await lifecycle.reject(
                session, admin, credential.id, "The photo is unreadable: upload a new one.", now
            )
        elif outcome == "archive":
            await lifecycle.archive(session, admin, credential.id, now)
