"""A world whose changes queue email, a clock the test moves, and the delivery worker
driven one pass at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update

from models.delivery import Delivery
from models.tenancy import unscoped
from models.user import User
from server.database import Database
from server.delivery_worker import DeliveryWorker
from server.settings import Settings
from services.delivery import PassResult
from tests.clock import TestClock
from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type
from tests.world import World

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PUBLIC_URL = "https://dash.example.com"

REJECT = """
mutation R($id: ID!, $reason: String!) {
  rejectCredential(id: $id, reason: $reason) { errors { code } }
}
"""


@dataclass
class Scene:
    settings: Settings
    database: Database
    client: GraphQLClient
    clock: TestClock
    world: World

    def worker(self, smtp_url: str | None, **settings: Any) -> DeliveryWorker:
        """A worker of its own (as another process would have) on the scene's clock."""
        chosen = replace(self.settings, smtp_url=smtp_url, public_url=PUBLIC_URL, **settings)
        return DeliveryWorker(self.database, chosen, self.clock)

    async def deliver(self, smtp_url: str | None, **settings: Any) -> PassResult:
        return await self.worker(smtp_url, **settings).run_pass()

    async def credential(
        self,
        holder: str = "employee",
        type_name: str = "First Aid Certificate",
        expiry: date = date(2029, 1, 15),
    ) -> str:
        """A pending credential's global id."""
        admin = self.world.token("admin")
        type_id = await create_type(self.client, admin, name=type_name)
        created = await create_credential(
            self.client, admin, type_id, self.world.user_ids[holder], expiryDate=expiry.isoformat()
        )
        return str(created["id"])

    async def approved(self, holder: str = "employee", **fields: Any) -> str:
        credential_id = await self.credential(holder, **fields)
        payload = await approve(self.client, self.world.token("credentials_manager"), credential_id)
        assert payload["errors"] == [], payload
        return credential_id

    async def reject(self, credential_id: str, reason: str) -> None:
        body = await self.client.execute(
            REJECT, {"id": credential_id, "reason": reason}, self.world.token("credentials_manager")
        )
        assert body["data"]["rejectCredential"]["errors"] == []

    async def deliveries(self) -> list[Delivery]:
        async with self.database.read(unscoped()) as session:
            return list(await session.scalars(select(Delivery).order_by(Delivery.id)))

    async def only_delivery(self) -> Delivery:
        found = await self.deliveries()
        assert len(found) == 1, found
        return found[0]

    async def change_user(self, role: str, **values: Any) -> None:
        async with self.database.transaction(unscoped()) as session:
            await session.execute(
                update(User).where(User.id == self.world.user_ids[role]).values(**values)
            )
