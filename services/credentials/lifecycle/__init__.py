"""The credential lifecycle: submit, renew, edit, approve, reject, archive, restore, delete.

Each function runs inside the caller's write transaction, checks everything before it
writes, and leaves activity and a domain event behind (services.credentials.journal).
"""

from services.credentials.lifecycle.archiving import archive, delete, restore
from services.credentials.lifecycle.bulk import BulkOutcome, for_each
from services.credentials.lifecycle.loading import Loaded, load
from services.credentials.lifecycle.review import approve, reject
from services.credentials.lifecycle.submission import (
    add_version,
    create_credential,
    edit_latest_version,
)

__all__ = [
    "BulkOutcome",
    "Loaded",
    "add_version",
    "approve",
    "archive",
    "create_credential",
    "delete",
    "edit_latest_version",
    "for_each",
    "load",
    "reject",
    "restore",
]
