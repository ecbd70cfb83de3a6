"""What the outbox records for each way a send can go: refused for a while then
accepted, refused for good, given up after the configured attempts, skipped (no address,
deactivated, email not configured), and an SMTP server that needs a login."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from models.delivery import DeliveryStatus
from services.delivery.worker import Outcome
from tests.delivery.mail_server import MailServer, mail_server
from tests.delivery.scene import START, Scene
from tests.server.process import free_port

TRY_LATER = "451 4.3.0 Try again later"


async def test_a_temporary_refusal_is_retried_after_a_backoff_then_sent(
    scene: Scene, smtp: MailServer
) -> None:
    # Given an approval's email and an SMTP server that refuses it once (451)
    await scene.approved()
    smtp.handler.replies.append(TRY_LATER)

    # When the worker passes
    first = await scene.deliver(smtp.url())

    # Then it is kept for later, with the reply and a backoff of the base delay, jittered
    assert first.count(Outcome.RETRIED) == 1
    waiting = await scene.only_delivery()
    assert waiting.status is DeliveryStatus.PENDING
    assert (waiting.attempts, waiting.last_error) == (1, TRY_LATER)
    assert START + timedelta(seconds=30) <= waiting.next_attempt_at <= START + timedelta(seconds=60)
    assert waiting.claimed_until is None
    # And a pass before then leaves it alone
    assert (await scene.deliver(smtp.url())).counts == {}

    # When the time comes and the worker passes again
    scene.clock.now = waiting.next_attempt_at
    second = await scene.deliver(smtp.url())

    # Then it is sent, once, at the second attempt
    assert second.count(Outcome.SENT) == 1
    sent = await scene.only_delivery()
    assert (sent.status, sent.attempts, sent.last_error) == (DeliveryStatus.SENT, 2, None)
    assert len(smtp.handler.received) == 1


async def test_backoff_doubles_and_the_last_attempt_fails_with_the_reason(
    scene: Scene, smtp: MailServer
) -> None:
    await scene.approved()
    smtp.handler.replies.extend([TRY_LATER] * 3)
    delays = []

    for _ in range(3):
        await scene.deliver(smtp.url(), delivery_max_attempts=3)
        row = await scene.only_delivery()
        delays.append(row.next_attempt_at - scene.clock.now)
        scene.clock.now = row.next_attempt_at

    row = await scene.only_delivery()
    assert row.status is DeliveryStatus.FAILED
    assert (row.attempts, row.last_error) == (3, f"gave up after 3 attempts: {TRY_LATER}")
    assert timedelta(seconds=30) <= delays[0] <= timedelta(seconds=60)
    assert timedelta(seconds=60) <= delays[1] <= timedelta(seconds=120)
    assert smtp.handler.received == []
    assert (await scene.deliver(smtp.url(), delivery_max_attempts=3)).counts == {}


async def test_a_permanent_refusal_fails_at_once_without_retry(
    scene: Scene, smtp: MailServer
) -> None:
    await scene.approved()
    smtp.handler.replies.append("550 5.1.1 No such mailbox")

    result = await scene.deliver(smtp.url())

    assert result.count(Outcome.FAILED) == 1
    row = await scene.only_delivery()
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 1)
    assert row.last_error == "550 5.1.1 No such mailbox"
    assert row.recipient_address == "employee@example.com"
    scene.clock.advance(timedelta(days=1))
    assert (await scene.deliver(smtp.url())).counts == {}


async def test_an_smtp_server_that_is_down_delays_the_mail(scene: Scene) -> None:
    await scene.approved()
    nobody = f"smtp://127.0.0.1:{free_port()}"

    result = await scene.deliver(nobody)

    assert result.count(Outcome.RETRIED) == 1
    row = await scene.only_delivery()
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error is not None
    assert row.last_error.startswith("could not reach the SMTP server")


async def test_a_recipient_without_an_email_address_is_skipped_not_retried(
    scene: Scene, smtp: MailServer
) -> None:
    await scene.approved()
    await scene.change_user("employee", email="")

    result = await scene.deliver(smtp.url())

    assert result.count(Outcome.SKIPPED) == 1
    row = await scene.only_delivery()
    assert (row.status, row.last_error) == (
        DeliveryStatus.SKIPPED,
        "the recipient has no email address",
    )
    assert smtp.handler.received == []


async def test_a_holder_deactivated_since_is_skipped(scene: Scene, smtp: MailServer) -> None:
    await scene.approved()
    await scene.change_user("employee", is_active=False)

    await scene.deliver(smtp.url())

    row = await scene.only_delivery()
    assert (row.status, row.last_error) == (
        DeliveryStatus.SKIPPED,
        "the recipient's account is deactivated",
    )


async def test_without_smtp_url_the_log_says_email_is_not_configured(scene: Scene) -> None:
    await scene.approved()

    await scene.deliver(None)

    row = await scene.only_delivery()
    assert (row.status, row.last_error) == (
        DeliveryStatus.SKIPPED,
        "email is not configured: set SMTP_URL",
    )


# Plain-text AUTH is fine on loopback in a test; aiosmtpd warns of it for real servers.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_a_server_that_needs_a_login_gets_the_url_s_credentials(scene: Scene) -> None:
    await scene.approved()
    await scene.approved(type_name="Forklift licence")
    with mail_server(login=("mailer", "s3cret")) as server:
        wrong = await scene.deliver(server.url(credentials="mailer:wrong"))
        rows = await scene.deliveries()
        scene.clock.now = max(row.next_attempt_at for row in rows)
        right = await scene.deliver(server.url(credentials="mailer:s3cret"))

    assert wrong.count(Outcome.RETRIED) == 2
    assert rows[0].last_error is not None
    assert rows[0].last_error.startswith("the SMTP server refused the session: 535")
    assert right.count(Outcome.SENT) == 2
    assert len(server.handler.received) == 2


async def test_starttls_required_by_the_url_is_not_skipped_when_the_server_lacks_it(
    scene: Scene, smtp: MailServer
) -> None:
    await scene.approved()

    await scene.deliver(smtp.url("smtp+starttls"))

    row = await scene.only_delivery()
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error is not None
    assert "STARTTLS" in row.last_error
    assert smtp.handler.received == []


async def test_a_pass_over_an_empty_outbox_takes_no_write_lock(
    scene: Scene, smtp: MailServer, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's one write lock is what an idle worker must not take")
    worker = scene.worker(smtp.url())
    statements: list[str] = []

    def seen(_: Any, __: Any, statement: str, *___: Any) -> None:
        statements.append(statement)

    engine = scene.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await worker.run_pass()
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert statements
    assert not [s for s in statements if s.startswith(("BEGIN IMMEDIATE", "UPDATE"))]
