"""API tokens: minted at random, shown once, stored only as a digest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_PREFIX = "cred_"
_PREFIX_SHOWN = 12


def mint_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def derive_token(secret_key: str, purpose: str) -> str:
    """A token reproducible from the secret key: only for demo data in development,
    so that every start can print the demo tokens without storing them in clear."""
    digest = hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    return token[:_PREFIX_SHOWN]


def parse_bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None if malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token
