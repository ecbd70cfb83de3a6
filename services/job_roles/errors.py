"""The job-role domain's error codes."""

from __future__ import annotations

from enum import Enum


class JobRoleErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    TOO_MANY = "TOO_MANY"
