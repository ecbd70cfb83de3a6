"""Demo data for the embedded default: one organization with a person in every role.

Demo tokens are derived from the secret key rather than stored in clear, so every start
in development can print them again. Production never loads demo data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.organization import Organization
from models.permission import Permission
from services import identity
from services.tokens import derive_token

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


async def demo_loaded(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(Organization.id).where(Organization.name == DEMO_ORGANIZATION)
    )
    return found is not None


async def load_demo_data(session: AsyncSession, secret_key: str) -> None:
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
