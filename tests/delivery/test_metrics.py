"""/metrics counts deliveries by channel and outcome, and shows the queue."""

from __future__ import annotations

from dataclasses import replace

import httpx

from server.app import create_app
from server.settings import Settings
from tests.clock import TestClock
from tests.conftest import GraphQLClient
from tests.credentials.factories import approve, create_credential, create_type
from tests.delivery.mail_server import MailServer
from tests.delivery.scene import PUBLIC_URL, START
from tests.world import World


async def test_metrics_count_deliveries_by_channel_and_outcome(
    settings: Settings, world: World, smtp: MailServer
) -> None:
    # Given an app whose worker sends through the test's SMTP server
    app = create_app(
        replace(settings, smtp_url=smtp.url(), public_url=PUBLIC_URL), TestClock(START)
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = GraphQLClient(http)
            admin = world.token("admin")
            type_id = await create_type(client, admin)
            for holder in ("employee", "acme_worker"):
                created = await create_credential(client, admin, type_id, world.user_ids[holder])
                await approve(client, world.token("credentials_manager"), str(created["id"]))
            smtp.handler.replies.append("451 4.3.0 Try again later")

            # When its worker passes
            await app.state.delivery_worker.run_pass()
            page = (await http.get("/metrics")).text
    finally:
        await app.state.database.dispose()

    # Then one was sent, one retried, and one waits
    assert 'deliveries_total{channel="EMAIL",outcome="sent"} 1.0' in page
    assert 'deliveries_total{channel="EMAIL",outcome="retried"} 1.0' in page
    assert 'deliveries_pending{channel="EMAIL"} 1.0' in page
    assert 'deliveries_oldest_pending_age_seconds{channel="EMAIL"} 0.0' in page
