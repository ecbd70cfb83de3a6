"""What the digest tests start from: a few people's credentials in every state a digest
speaks of, and a job role that some of them do not meet."""

from __future__ import annotations

from datetime import date, timedelta

from server.database import Database
from services.credentials import lifecycle
from services.credentials.validation import VersionDetails
from tests.conftest import GraphQLClient
from tests.credentials.factories import global_id
from tests.credentials.matrix_setup import seeding
from tests.job_roles.helpers import assign, create_role
from tests.world import World


async def seed_digest_world(
    database: Database, world: World, client: GraphQLClient, day: date
) -> None:
    """A crane licence of Acme's worker expiring 10 days after `day`, one of Bolt's worker
    that expired the day before, an employee's first aid certificate waiting for approval,
    and a Rigger role, asking for a crane licence, held by all three."""
    async with seeding(database, world) as seed:
        crane = await seed.credential_type("Crane licence")
        first_aid = await seed.credential_type("First aid")
        held = [
            ("acme_worker", crane, day + timedelta(days=10), "CR-ACME", True),
            ("bolt_worker", crane, day - timedelta(days=1), "CR-BOLT", True),
            ("employee", first_aid, date(2030, 1, 1), "FA-EMP", False),
        ]
        for holder, type_id, expiry, number, approved in held:
            created = await lifecycle.create_credential(
                seed.session,
                seed.viewer,
                type_id,
                world.user_ids[holder],
                VersionDetails(date(2025, 1, 1), expiry, number),
                seed.now,
            )
            if approved:
                await seed.approve(created.id)
    admin = world.token("admin")
    role = await create_role(
        client, admin, "Rigger", [{"typeIds": [global_id("CredentialType", crane)]}]
    )
    members = [
        global_id("User", world.user_ids[holder])
        for holder in ("acme_worker", "bolt_worker", "employee")
    ]
    assert (await assign(client, admin, role["id"], members))["errors"] == []
