"""Codes of what can go wrong in a CSV import: of the file, of a row, of the request."""

from __future__ import annotations

from enum import Enum


class ImportErrorCode(Enum):
    # The request
    PERMISSION_DENIED = "PERMISSION_DENIED"
    FILE_REQUIRED = "FILE_REQUIRED"
    # The file as a whole
    NOT_CSV = "NOT_CSV"
    NOT_UTF8 = "NOT_UTF8"
    NO_HEADER = "NO_HEADER"
    MISSING_COLUMN = "MISSING_COLUMN"
    FIELD_TOO_LARGE = "FIELD_TOO_LARGE"
    MALFORMED = "MALFORMED"
    # One row
    REQUIRED = "REQUIRED"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    TYPE_NOT_FOUND = "TYPE_NOT_FOUND"
    INVALID_DATE = "INVALID_DATE"
    EXPIRY_BEFORE_ISSUE = "EXPIRY_BEFORE_ISSUE"
    NOT_USED = "NOT_USED"
    INVALID = "INVALID"
    DUPLICATE_ROW = "DUPLICATE_ROW"
    ARCHIVED = "ARCHIVED"
    INTERRUPTED = "INTERRUPTED"
