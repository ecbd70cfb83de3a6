"""Sending over SMTP (aiosmtplib): the server named by SMTP_URL, one connection per batch.

`smtp://user:pass@host:port` upgrades with STARTTLS when the server offers it,
`smtp+starttls://` requires it, `smtps://` is TLS from the first byte. The server's
certificate and host name are always verified, against SMTP_CA_FILE when set (a private
CA), else the system's CAs. Replies 5xx fail a message for good; 4xx, refused connections,
timeouts and an untrusted certificate are temporary.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from services.delivery.channel import DeliveryFailure, Outgoing


class SmtpSecurity(StrEnum):
    STARTTLS_IF_OFFERED = "smtp"
    STARTTLS = "smtp+starttls"
    TLS = "smtps"


_DEFAULT_PORTS = {
    SmtpSecurity.STARTTLS_IF_OFFERED: 25,
    SmtpSecurity.STARTTLS: 587,
    SmtpSecurity.TLS: 465,
}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log or a repr

    def describe(self) -> str:
        """The URL without the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.security.value}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """The server an SMTP_URL names; ValueError, saying what is wrong, for anything else.
    The messages never repeat the URL: it may hold a password."""
    parts = urlsplit(url.strip())
    try:
        security = SmtpSecurity(parts.scheme.lower())
    except ValueError:
        raise ValueError(
            "SMTP_URL must start with smtp:// (STARTTLS when offered), smtp+starttls:// "
            "(STARTTLS required) or smtps:// (TLS), as in smtp://user:password@host:587"
        ) from None
    try:
        port = parts.port
    except ValueError:
        raise ValueError("SMTP_URL has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("SMTP_URL names no host: use smtp://user:password@host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            "SMTP_URL takes no path, query or fragment: smtp://user:password@host:port"
        )
    if parts.password is not None and not parts.username:
        raise ValueError("SMTP_URL has a password without a user name")
    return SmtpTarget(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[security],
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def client_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifies the server's certificate and host name: against the CA certificates of
    `ca_file` only (a PEM file) when given, else the system's. OSError or ssl.SSLError
    for a file that cannot be read or holds no certificate."""
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)


def _certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The verification failure behind an error (aiosmtplib wraps it when connecting)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__
    return None


def _reply(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}".strip()


def classify(error: Exception) -> DeliveryFailure:
    """An aiosmtplib error as a delivery failure: permanent for a 5xx reply to this
    message, temporary for anything that may pass (4xx, the server away, a timeout)."""
    if (untrusted := _certificate_error(error)) is not None:
        # Like a refused login: the configuration, not this message, so every message
        # would fail alike; temporary, so mail waits while the operator fixes it.
        return DeliveryFailure(
            "the SMTP server's certificate is not trusted "
            f"({untrusted.verify_message or untrusted.reason}): install its CA, or set "
            "SMTP_CA_FILE to a PEM file of the CA certificates that issued it",
            temporary=True,
            unreachable=True,
        )
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refusals = error.recipients or []
        first = refusals[0] if refusals else None
        if first is None:
            return DeliveryFailure("the recipient was refused", temporary=True)
        return DeliveryFailure(_reply(first.code, first.message), temporary=first.code < 500)
    if isinstance(
        error,
        aiosmtplib.SMTPConnectResponseError
        | aiosmtplib.SMTPHeloError
        | aiosmtplib.SMTPAuthenticationError,
    ):
        # The server, or our login to it, not this message: every message would fail alike.
        return DeliveryFailure(
            f"the SMTP server refused the session: {_reply(error.code, error.message)}",
            temporary=True,
            unreachable=True,
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return DeliveryFailure(_reply(error.code, error.message), temporary=error.code < 500)
    if isinstance(error, aiosmtplib.SMTPTimeoutError):
        return DeliveryFailure(f"timed out: {error}", temporary=True, unreachable=True)
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return DeliveryFailure(f"the SMTP server cannot: {error}", temporary=True, unreachable=True)
    return DeliveryFailure(
        f"could not reach the SMTP server: {error}", temporary=True, unreachable=True
    )


class SmtpConnection:
    """One SMTP session for a batch; reconnects once if the server dropped it between
    messages (servers close idle sessions)."""

    def __init__(
        self,
        target: SmtpTarget,
        sender: str,
        timeout_s: float,
        local_hostname: str,
        tls_context: ssl.SSLContext | None = None,
    ):
        self._target = target
        self._tls_context = tls_context
        self._sender = sender
        self._timeout_s = timeout_s
        self._local_hostname = local_hostname
        self._client: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        target = self._target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.security is SmtpSecurity.TLS,
            start_tls=(
                None
                if target.security is SmtpSecurity.STARTTLS_IF_OFFERED
                else target.security is SmtpSecurity.STARTTLS
            ),
            timeout=self._timeout_s,
            local_hostname=self._local_hostname,
            tls_context=self._tls_context,  # None: aiosmtplib's, verifying with the system's CAs
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            failure = classify(error)
            failure.unreachable = True
            raise failure from error
        self._client = client

    async def send(self, outgoing: Outgoing) -> None:
        if self._client is None or not self._client.is_connected:
            await self.open()
        assert self._client is not None
        try:
            await self._client.sendmail(self._sender, [outgoing.address], outgoing.content)
        except ValueError as error:  # an address that cannot be put on the wire
            raise DeliveryFailure(
                f"the address cannot be used: {error}", temporary=False
            ) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise classify(error) from error

    async def close(self) -> None:
        if self._client is not None and self._client.is_connected:
            with suppress(aiosmtplib.SMTPException, OSError):
                await self._client.quit()
            self._client.close()
        self._client = None


@asynccontextmanager
async def smtp_session(
    target: SmtpTarget,
    sender: str,
    timeout_s: float,
    local_hostname: str,
    tls_context: ssl.SSLContext | None = None,
) -> AsyncIterator[SmtpConnection]:
    connection = SmtpConnection(target, sender, timeout_s, local_hostname, tls_context)
    await connection.open()
    try:
        yield connection
    finally:
        await connection.close()
