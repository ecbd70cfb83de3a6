"""The notification domain's error codes."""

from __future__ import annotations

from enum import Enum


class NotificationErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    # DAILY or WEEKLY digests for someone who looks after nobody else.
    DIGEST_NOT_AVAILABLE = "DIGEST_NOT_AVAILABLE"
