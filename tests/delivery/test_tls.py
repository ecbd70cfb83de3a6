"""Mail over real TLS: a relay with a certificate of a private CA (made in the test), reached
with STARTTLS or TLS from the first byte (smtps), logging in over the encrypted channel
when SMTP_CA_FILE names that CA; a certificate the client does not trust (an unknown CA,
another host's name) is refused and recorded as the reason, and the mail waits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from models.delivery import DeliveryStatus
from services.delivery.worker import Outcome
from tests.delivery.certificates import ServerCertificate, TestCa
from tests.delivery.mail_server import MailServer, mail_server
from tests.delivery.scene import Scene

# aiosmtpd cannot tell an smtps session is encrypted, so it warns of AUTH without TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

LOGIN = ("mailer", "s3cret")
CREDENTIALS = "mailer:s3cret"


@pytest.fixture
def relay_ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path / "relay-ca")


@contextmanager
def tls_server(kind: str, certificate: ServerCertificate) -> Iterator[MailServer]:
    """`kind`: "starttls" (required before MAIL and AUTH) or "smtps"."""
    context = certificate.server_context()
    if kind == "starttls":
        with mail_server(login=LOGIN, starttls=context) as server:
            yield server
    else:
        with mail_server(login=LOGIN, implicit_tls=context) as server:
            yield server


@pytest.mark.parametrize(
    ("kind", "scheme"),
    [
        ("starttls", "smtp+starttls"),  # STARTTLS required by the URL
        ("starttls", "smtp"),  # STARTTLS because the server offers it
        ("smtps", "smtps"),
    ],
)
async def test_mail_goes_encrypted_with_a_login_to_a_relay_of_the_trusted_ca(
    scene: Scene, relay_ca: TestCa, kind: str, scheme: str
) -> None:
    # Given an approval's email and a relay whose certificate the CA of SMTP_CA_FILE issued
    await scene.approved()
    with tls_server(kind, relay_ca.issue()) as server:
        # When the worker passes
        result = await scene.deliver(
            server.url(scheme, credentials=CREDENTIALS), smtp_ca_file=relay_ca.ca_file
        )

    # Then the message was sent, over TLS, after logging in
    assert result.count(Outcome.SENT) == 1
    assert (await scene.only_delivery()).status is DeliveryStatus.SENT
    [received] = server.handler.received
    assert received.recipients == ["employee@example.com"]
    assert (received.encrypted, received.authenticated) == (True, True)


@pytest.mark.parametrize("kind", ["starttls", "smtps"])
@pytest.mark.parametrize(
    ("case", "detail"),
    [
        # No SMTP_CA_FILE: the system's CAs do not know the relay's private CA.
        ("system CAs", "unable to get local issuer certificate"),
        # SMTP_CA_FILE names a CA that did not issue the relay's certificate.
        ("another CA", "unable to get local issuer certificate"),
        # The trusted CA issued it, for another host: host names are verified.
        ("another host", "IP address mismatch"),
    ],
)
async def test_a_relay_certificate_the_client_does_not_trust_is_refused_and_the_mail_waits(
    scene: Scene, relay_ca: TestCa, tmp_path: Path, kind: str, case: str, detail: str
) -> None:
    await scene.approved()
    trusted = {
        "system CAs": None,
        "another CA": TestCa(tmp_path / "other-ca", "Other CA").ca_file,
        "another host": relay_ca.ca_file,
    }[case]
    names = ("mail.example.com",) if case == "another host" else ("127.0.0.1", "localhost")
    scheme = "smtp+starttls" if kind == "starttls" else "smtps"
    with tls_server(kind, relay_ca.issue(names)) as server:
        result = await scene.deliver(
            server.url(scheme, credentials=CREDENTIALS), smtp_ca_file=trusted
        )

    # Temporary, as a refused login is: the configuration is wrong, not the message, and
    # retrying with backoff keeps the mail until the operator fixes it (or attempts run out).
    assert result.count(Outcome.RETRIED) == 1
    row = await scene.only_delivery()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.last_error is not None
    assert row.last_error.startswith("the SMTP server's certificate is not trusted")
    assert detail in row.last_error
    assert "SMTP_CA_FILE" in row.last_error
    assert "s3cret" not in row.last_error
    assert server.handler.received == []
