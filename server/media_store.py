"""The media store the settings describe: a local directory, sealed when keys are set."""

from __future__ import annotations

from server.settings import Settings, SettingsError
from services.media.encryption import EncryptedMediaStore, MediaKeyError, parse_key
from services.media.storage import LocalMediaStore, MediaStore


def create_media_store(settings: Settings) -> MediaStore:
    local = LocalMediaStore(settings.media_dir)
    if not settings.media_encryption_keys:
        return local
    try:
        keys = [parse_key(text) for text in settings.media_encryption_keys]
    except MediaKeyError as error:
        raise SettingsError(f"MEDIA_ENCRYPTION_KEYS: {error}") from None
    return EncryptedMediaStore(local, keys)
