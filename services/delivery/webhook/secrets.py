"""Signing secrets: made here, shown once, stored sealed with AES-256-GCM.

The sealing key is the first of MEDIA_ENCRYPTION_KEYS when set (the media keys'
mechanism), else derived from SECRET_KEY; every configured key opens, so keys rotate as
media keys do. A sealed secret is bound to its organization (associated data): a row
copied to another organization does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.media.encryption import key_id

_MAGIC = b"WHS1"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_SECRET_BYTES = 32
PREFIX = "whsec_"


class SecretUnreadable(Exception):
    """A sealed secret that none of the configured keys opens."""


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def sealing_keys(media_keys: Sequence[bytes], secret_key: str) -> list[bytes]:
    derived = hmac.new(secret_key.encode(), b"webhook-secrets", hashlib.sha256).digest()
    return [*media_keys, derived]


class SecretBox:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one key")
        self._current = keys[0]
        self._keys = {key_id(k): k for k in keys}

    def seal(self, organization_id: int, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._current).encrypt(nonce, secret.encode(), _bound(organization_id))
        return _MAGIC + key_id(self._current) + nonce + sealed

    def open(self, organization_id: int, stored: bytes) -> str:
        header = len(_MAGIC) + _KEY_ID_BYTES + _NONCE_BYTES
        key = self._keys.get(stored[len(_MAGIC) : len(_MAGIC) + _KEY_ID_BYTES])
        if not stored.startswith(_MAGIC) or key is None:
            raise SecretUnreadable(
                "a webhook secret was sealed with a key that is not configured "
                "(MEDIA_ENCRYPTION_KEYS or SECRET_KEY): rotate the endpoint's secret"
            )
        nonce = stored[len(_MAGIC) + _KEY_ID_BYTES : header]
        try:
            return AESGCM(key).decrypt(nonce, stored[header:], _bound(organization_id)).decode()
        except InvalidTag:
            raise SecretUnreadable("a webhook secret does not open: altered or misplaced") from None


def _bound(organization_id: int) -> bytes:
    return f"webhook-secret:{organization_id}".encode()
