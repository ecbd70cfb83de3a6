"""A real SMTP server in the test process (aiosmtpd), on a free loopback port: it
receives mail over the socket as any relay would, and can refuse, hold or break on cue;
with a certificate it requires STARTTLS, or speaks TLS from the first byte (smtps)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.server.process import free_port


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    encrypted: bool = False  # the session was TLS when the message came
    authenticated: bool = False

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        # As the reader sees it: the wire's CRLF line ends as newlines.
        return str(cast("EmailMessage", part).get_content()).replace("\r\n", "\n")


class MailHandler:
    """Keeps what it receives. `replies` answers the next messages' DATA instead of 250
    (e.g. "451 4.3.0 Try again later"), one each; `hold_at` keeps the n-th message (1 is
    the first), then never answers it until `release()`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: deque[str] = deque()
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self._held: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
            content = envelope.content
            assert isinstance(content, bytes)
            message = message_from_bytes(content, policy=policy.default)
            transport = server.transport
            encrypted = transport is not None and transport.get_extra_info("ssl_object") is not None
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    message,
                    encrypted=encrypted,
                    authenticated=bool(session.authenticated),
                )
            )
            count = len(self.received)
        if count == self.hold_at:
            self._loop = asyncio.get_running_loop()
            self._held = self._loop.create_future()
            self.holding.set()
            await self._held
        return "250 2.0.0 OK"

    def release(self) -> None:
        held, loop = self._held, self._loop
        if loop is None or held is None or loop.is_closed():
            return

        def answer() -> None:
            if not held.done():
                held.set_result(None)

        loop.call_soon_threadsafe(answer)

    def by_message_id(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = {}
        for item in self.received:
            found.setdefault(item.message_id, []).append(item)
        return found


class _Logins:
    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == self.expected
        return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class MailServer:
    port: int
    handler: MailHandler

    def url(self, scheme: str = "smtp", credentials: str = "") -> str:
        at = f"{credentials}@" if credentials else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}"


@contextmanager
def mail_server(
    login: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
) -> Iterator[MailServer]:
    """`starttls`: the server's TLS context, offered and required before MAIL and AUTH;
    `implicit_tls`: TLS from the first byte (smtps)."""
    handler = MailHandler()
    port = free_port()
    options: dict[str, Any] = {}
    if login is not None:
        options = {
            "authenticator": _Logins(*login),
            "auth_required": True,
            # Plain AUTH only after STARTTLS when offered; without TLS, loopback in a test.
            # (aiosmtpd cannot tell an smtps session is encrypted: the handler records it.)
            "auth_require_tls": starttls is not None,
        }
    if starttls is not None:
        options |= {"tls_context": starttls, "require_starttls": True}
    if implicit_tls is not None:
        options["ssl_context"] = implicit_tls
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield MailServer(port, handler)
    finally:
        handler.release()
        controller.stop()
