"""The webhook domain's error codes."""

from __future__ import annotations

from enum import Enum


class WebhookErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID_URL = "INVALID_URL"
    TARGET_REFUSED = "TARGET_REFUSED"  # resolves to a loopback, private or metadata address
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    NOT_DISABLED = "NOT_DISABLED"  # resumed an endpoint that is running
