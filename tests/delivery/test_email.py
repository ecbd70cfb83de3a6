"""Email over a real SMTP server: what a notification's email says, and that the outbox
row records exactly what happened."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from strawberry.relay import GlobalID

from models.delivery import DeliveryChannel, DeliveryKind, DeliveryStatus
from server.expiry_scheduler import run_sweep
from services.delivery.worker import Outcome
from tests.credentials.factories import local_key
from tests.delivery.mail_server import MailServer
from tests.delivery.scene import PUBLIC_URL, START, Scene


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
