"""Short-lived download links, signed with the service's secret key (HMAC-SHA256).

A link names the file, the organization and the API token it was issued to, and when it
stops working. Opening it checks the signature first, then that the token still stands
for someone who may see the file now: a revoked token or a lost permission ends the
link before it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

_PURPOSE = b"credential-media-link/v1"


class BadLink(Exception):
    """A link that was not issued by this service, or was altered."""


class ExpiredLink(Exception):
    """A genuine link past its time: ask the API for a fresh one."""


@dataclass(frozen=True)
class LinkClaims:
    media_id: int
    organization_id: int
    token_id: int
    expires: int  # seconds since the epoch


def _key(secret_key: str) -> bytes:
    # A key of its own for links: a signature made for another purpose never fits here.
    return hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(secret_key: str, payload: str) -> str:
    return _b64(hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest())


def sign(secret_key: str, claims: LinkClaims) -> str:
    payload = f"{claims.media_id}.{claims.organization_id}.{claims.token_id}.{claims.expires}"
    return f"{payload}.{_signature(secret_key, payload)}"


def verify(secret_key: str, link: str, now: datetime) -> LinkClaims:
    payload, _, signature = link.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() for p in parts):
        raise BadLink
    if not hmac.compare_digest(signature, _signature(secret_key, payload)):
        raise BadLink
    claims = LinkClaims(*(int(p) for p in parts))
    if now.timestamp() >= claims.expires:
        raise ExpiredLink
    return claims
