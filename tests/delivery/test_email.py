"""Email over a real SMTP server: what a notification's email says, and that the outbox
row records exactly what happened."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from strawberry.relay import GlobalID

from models.delivery import DeliveryChannel, DeliveryKind, DeliveryStatus
from models.tenancy import TenantViolation, scoped_to
from server.expiry_scheduler import run_sweep
from services.delivery import queue_delivery
from services.delivery.worker import Outcome
from tests.credentials.factories import local_key
from tests.delivery.mail_server import MailServer
from tests.delivery.scene import PUBLIC_URL, START, Scene

CHOOSE_DIGEST = """
mutation U($input: UpdateNotificationSettingsInput!) {
  updateNotificationSettings(input: $input) { errors { code } }
}
"""


def _link(credential_id: str) -> str:
    return f"{PUBLIC_URL}/credentials/{quote(credential_id, safe='')}"


async def test_an_approval_is_emailed_with_both_bodies_a_link_and_a_stable_message_id(
    scene: Scene, smtp: MailServer
) -> None:
    # Given an approved credential (the approval queued its email)
    credential_id = await scene.approved()
    queued = await scene.only_delivery()
    assert (queued.status, queued.kind, queued.channel) == (
        DeliveryStatus.PENDING,
        DeliveryKind.APPROVED,
        DeliveryChannel.EMAIL,
    )
    assert queued.dedupe_key == f"notification:{queued.notification_id}"

    # When the worker passes
    result = await scene.deliver(smtp.url())

    # Then the SMTP server got one message saying so, with a link to the credential
    assert result.count(Outcome.SENT) == 1
    [mail] = smtp.handler.received
    assert mail.recipients == ["employee@example.com"]
    assert mail.message["Subject"] == "Your First Aid Certificate was approved"
    assert mail.message["To"] == "Employee <employee@example.com>"
    assert mail.message["From"] == "no-reply@dash.example.com"
    org = scene.world.north_id
    assert mail.message_id == f"<delivery-{queued.id}.{org}@dash.example.com>"
    assert str(GlobalID("Credential", str(local_key(credential_id)))) == credential_id
    text, html = mail.body("plain"), mail.body("html")
    assert "Your First Aid Certificate was approved." in text
    assert _link(credential_id) in text
    assert f'<a href="{_link(credential_id)}">' in html
    # And the outbox row says what was sent, where and when
    sent = await scene.only_delivery()
    assert sent.status is DeliveryStatus.SENT
    assert (sent.attempts, sent.last_error, sent.claimed_until) == (1, None, None)
    assert sent.recipient_address == "employee@example.com"
    assert sent.message_id == mail.message_id
    assert sent.sent_at == START
    # And a second pass sends nothing again
    assert (await scene.deliver(smtp.url())).count(Outcome.SENT) == 0
    assert len(smtp.handler.received) == 1


async def test_a_reminder_subject_says_what_expires_when(scene: Scene, smtp: MailServer) -> None:
    # Given a credential expiring in a week, approved, and the day's expiry sweep
    await scene.approved(expiry=START.date() + timedelta(days=7))
    await run_sweep(scene.database, scene.clock)

    # When the worker passes
    await scene.deliver(smtp.url())

    # Then the approval and the reminder arrive, the reminder saying what expires when
    subjects = [m.message["Subject"] for m in smtp.handler.received]
    assert subjects == [
        "Your First Aid Certificate was approved",
        "Your First Aid Certificate expires in 7 days (14 Dec 2026)",
    ]
    assert "expires in 7 days, on 14 Dec 2026" in smtp.handler.received[1].body("plain")


async def test_a_rejection_carries_its_reason_escaped_in_html(
    scene: Scene, smtp: MailServer
) -> None:
    credential_id = await scene.credential(type_name="Forklift <Licence>")
    await scene.reject(credential_id, 'Photo <img src=x onerror="alert(1)"> & blurred')

    await scene.deliver(smtp.url())

    [mail] = smtp.handler.received
    assert mail.message["Subject"] == "Your Forklift <Licence> needs to be resubmitted"
    assert 'Reason: Photo <img src=x onerror="alert(1)"> & blurred' in mail.body("plain")
    html = mail.body("html")
    assert "<img" not in html
    assert "<Licence>" not in html
    assert "Photo &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; blurred" in html


async def test_names_beyond_ascii_arrive_as_written(scene: Scene, smtp: MailServer) -> None:
    await scene.change_user("employee", name="Zoë Ångström")
    await scene.approved(type_name="Permis de conduire: catégorie B")

    await scene.deliver(smtp.url())

    [mail] = smtp.handler.received
    assert mail.message["Subject"] == "Your Permis de conduire: catégorie B was approved"
    assert mail.message["To"].addresses[0].display_name == "Zoë Ångström"
    assert "Permis de conduire: catégorie B" in mail.body("plain")


async def _queue_digest(scene: Scene, role: str, period: str) -> bool:
    user_id = scene.world.user_ids[role]
    async with scene.database.transaction(scoped_to(scene.world.north_id)) as session:
        return await queue_delivery(
            session,
            organization_id=scene.world.north_id,
            channel=DeliveryChannel.EMAIL,
            kind=DeliveryKind.DIGEST,
            recipient_user_id=user_id,
            dedupe_key=f"digest:{user_id}:{period}",
            now=scene.clock.now,
            payload={
                "subject": "3 credentials expire this week",
                "text": "Acme Worker: First aid, 9 Dec 2026\n",
                "html": "<p>Acme Worker: First aid, 9 Dec 2026</p>",
            },
        )


async def test_a_digest_is_queued_once_per_key_and_sent_as_rendered(
    scene: Scene, smtp: MailServer
) -> None:
    # Given a manager who chose a daily digest, and their digest queued twice
    await scene.client.execute(
        CHOOSE_DIGEST, {"input": {"digest": "DAILY"}}, scene.world.token("company_manager")
    )
    assert await _queue_digest(scene, "company_manager", "2026-12-07")
    assert not await _queue_digest(scene, "company_manager", "2026-12-07")

    # When the worker passes
    await scene.deliver(smtp.url())

    # Then one email went out, exactly as rendered
    [mail] = smtp.handler.received
    assert mail.message["Subject"] == "3 credentials expire this week"
    assert mail.body("plain") == "Acme Worker: First aid, 9 Dec 2026\n"
    assert mail.body("html") == "<p>Acme Worker: First aid, 9 Dec 2026</p>\n"
    row = await scene.only_delivery()
    assert (row.kind, row.notification_id, row.status) == (
        DeliveryKind.DIGEST,
        None,
        DeliveryStatus.SENT,
    )


async def test_a_digest_of_someone_who_turned_digests_off_is_skipped(
    scene: Scene, smtp: MailServer
) -> None:
    await _queue_digest(scene, "company_manager", "2026-W50")

    await scene.deliver(smtp.url())

    row = await scene.only_delivery()
    assert (row.status, row.last_error) == (DeliveryStatus.SKIPPED, "digests turned off")


async def test_queueing_refuses_another_organization_s_delivery(scene: Scene) -> None:
    async with scene.database.transaction(scoped_to(scene.world.south_id)) as session:
        with pytest.raises(TenantViolation):
            await queue_delivery(
                session,
                organization_id=scene.world.north_id,
                channel=DeliveryChannel.EMAIL,
                kind=DeliveryKind.DIGEST,
                recipient_user_id=scene.world.user_ids["employee"],
                dedupe_key="digest:x",
                now=scene.clock.now,
            )
