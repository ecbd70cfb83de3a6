"""A small world with one person in every role, in two organizations.

Organization "north": admin (all permissions), users_manager, credentials_manager,
company_manager (manages Acme), acme_worker, bolt_contact (key contact of Bolt, works
there), bolt_worker, employee (no company, no permissions), inactive (deactivated).
Organization "south": south_admin (all permissions) and south_worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.permission import Permission
from models.tenancy import unscoped
from server.database import Database
from services import identity

ALL = [p.value for p in Permission]


@dataclass
class World:
    north_id: int = 0
    south_id: int = 0
    acme_id: int = 0
    bolt_id: int = 0
    south_company_id: int = 0
    user_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)

    def token(self, role: str) -> str:
        return self.tokens[role]


async def build_world(database: Database) -> World:
    world = World()
    async with database.transaction(unscoped()) as session:
        north = await identity.create_organization(session, "North Builders")
        south = await identity.create_organization(session, "South Builders")
        world.north_id, world.south_id = north.id, south.id

        async def permission_set(org_id: int, name: str, permissions: list[str]) -> int:
            return (await identity.create_permission_set(session, org_id, name, permissions)).id

        sets = {
            "admin": await permission_set(north.id, "Administrator", ALL),
            "users_manager": await permission_set(north.id, "Users", ["USERS_MANAGE"]),
            "credentials_manager": await permission_set(
                north.id, "Credentials", ["CREDENTIALS_MANAGE"]
            ),
            "company_manager": await permission_set(north.id, "Companies", ["COMPANIES_MANAGE"]),
            "south_admin": await permission_set(south.id, "Administrator", ALL),
        }
        acme = await identity.create_company(session, north.id, "Acme Scaffolding")
        bolt = await identity.create_company(session, north.id, "Bolt Electrical")
        south_company = await identity.create_company(session, south.id, "Southern Cranes")
        world.acme_id, world.bolt_id, world.south_company_id = acme.id, bolt.id, south_company.id

        people = [
            ("admin", north.id, None),
            ("users_manager", north.id, None),
            ("credentials_manager", north.id, None),
            ("company_manager", north.id, None),
            ("acme_worker", north.id, acme.id),
            ("bolt_contact", north.id, bolt.id),
            ("bolt_worker", north.id, bolt.id),
            ("employee", north.id, None),
            ("inactive", north.id, acme.id),
            ("south_admin", south.id, None),
            ("south_worker", south.id, south_company.id),
        ]
        for role, org_id, company_id in people:
            user = await identity.create_user(
                session,
                org_id,
                role.replace("_", " ").title(),
                f"{role}@example.com",
                company_id=company_id,
                permission_set_id=sets.get(role),
                is_active=role != "inactive",
            )
            world.user_ids[role] = user.id
            record, token = await identity.issue_token(session, user, f"{role} token")
            world.tokens[role] = token
            world.token_ids[role] = record.id
        await identity.add_company_manager(
            session, north.id, acme.id, world.user_ids["company_manager"]
        )
        await identity.add_key_contact(session, north.id, bolt.id, world.user_ids["bolt_contact"])
    return world
