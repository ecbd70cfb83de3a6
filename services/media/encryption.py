"""Encryption at rest: a store wrapper that seals every object with AES-256-GCM.

An object on disk is `CME1`, the 4-byte id of the key that sealed it, a 12-byte random
nonce, then the ciphertext and its tag; the object's key is the associated data, so a
file moved to another name does not open. Several keys may be configured: the first
seals new objects, every one opens objects (that is how a key is rotated: add the new
key first, re-seal with `credentials-api reseal-media`, then drop the old one).
Objects written before encryption was turned on (no `CME1` header: no accepted photo or
PDF starts with it) are read as they are until re-sealed.

With encryption on, keys are an HMAC of the content rather than its plain SHA-256: a
name on disk then tells nothing to someone who holds a copy of the same file.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.media.storage import CHUNK, MediaStore, MediaStoreError

MAGIC = b"CME1"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_HEADER = len(MAGIC) + _KEY_ID_BYTES + _NONCE_BYTES


class MediaKeyError(ValueError):
    """A configured key is not 32 random bytes in URL-safe base64."""


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise MediaKeyError(
            "a media encryption key is 32 random bytes in URL-safe base64, for example: "
            "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32))"
            ".decode())'"
        )
    return key


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"media-key-id" + key).digest()[:_KEY_ID_BYTES]


def _read_all(source: IO[bytes]) -> bytes:
    source.seek(0)
    data = source.read()
    source.seek(0)
    return data


class EncryptedMediaStore:
    """Seals what it writes and opens what it reads; the wrapped store sees only
    ciphertext."""

    def __init__(self, inner: MediaStore, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("EncryptedMediaStore needs at least one key")
        self.inner = inner
        self._current = keys[0]
        self._keys = {key_id(k): k for k in keys}
        self._naming = hmac.new(keys[0], b"media-content-name", hashlib.sha256).digest()

    def key_for(self, organization_id: int, source: IO[bytes]) -> str:
        digest = hmac.new(self._naming, digestmod=hashlib.sha256)
        source.seek(0)
        while chunk := source.read(CHUNK):
            digest.update(chunk)
        source.seek(0)
        return f"{organization_id}/{digest.hexdigest()}"

    def seal(self, key: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._current).encrypt(nonce, plaintext, key.encode())
        return MAGIC + key_id(self._current) + nonce + sealed

    def open(self, key: str, stored: bytes) -> bytes:
        if not stored.startswith(MAGIC):
            return stored  # written before encryption was turned on
        wanted = stored[len(MAGIC) : len(MAGIC) + _KEY_ID_BYTES]
        secret = self._keys.get(wanted)
        if secret is None:
            raise MediaStoreError(
                f"media {key} was sealed with a key that is not configured "
                "(MEDIA_ENCRYPTION_KEYS): add it back to read the file"
            )
        nonce = stored[len(MAGIC) + _KEY_ID_BYTES : _HEADER]
        try:
            return AESGCM(secret).decrypt(nonce, stored[_HEADER:], key.encode())
        except InvalidTag:
            raise MediaStoreError(f"media {key} does not open: altered or misplaced") from None

    def sealed_with_current_key(self, stored: bytes) -> bool:
        return stored.startswith(MAGIC + key_id(self._current))

    async def _sealed(self, key: str, source: IO[bytes]) -> io.BytesIO:
        # Sealing megabytes takes a while: off the event loop.
        return io.BytesIO(await asyncio.to_thread(lambda: self.seal(key, _read_all(source))))

    async def put(self, key: str, source: IO[bytes]) -> bool:
        if await self.inner.exists(key):
            return False
        return await self.inner.put(key, await self._sealed(key, source))

    async def replace(self, key: str, source: IO[bytes]) -> None:
        await self.inner.replace(key, await self._sealed(key, source))

    async def exists(self, key: str) -> bool:
        return await self.inner.exists(key)

    async def _stored(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.inner.read(key)])

    async def read(self, key: str) -> AsyncIterator[bytes]:
        plaintext = await asyncio.to_thread(self.open, key, await self._stored(key))
        for start in range(0, len(plaintext), CHUNK):
            yield plaintext[start : start + CHUNK]

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    def listing(self) -> AsyncIterator[tuple[str, datetime]]:
        return self.inner.listing()

    async def reseal(self, key: str) -> bool:
        """Seal the object again with the current key (or for the first time); whether
        it needed it. Readers see the old or the new object, never a partial one."""
        stored = await self._stored(key)
        if self.sealed_with_current_key(stored):
            return False
        plaintext = self.open(key, stored)
        await self.inner.replace(key, await self._sealed(key, io.BytesIO(plaintext)))
        return True


async def reseal_all(store: EncryptedMediaStore, keys: Sequence[str]) -> dict[str, int]:
    """Seal every object with the current key: the step between adding a new key and
    dropping the old one. Safe to run again; counts what it did."""
    counts = {"resealed": 0, "current": 0, "missing": 0}
    for key in keys:
        if not await store.exists(key):
            counts["missing"] += 1
        elif await store.reseal(key):
            counts["resealed"] += 1
        else:
            counts["current"] += 1
    return counts
