"""The archived filter, shared by every list of credentials."""

from __future__ import annotations

import strawberry

from models.credential_filter import ArchivedFilter

ArchivedFilterEnum = strawberry.enum(
    ArchivedFilter,
    name="ArchivedFilter",
    description="EXCLUDE hides archived credentials (the default); ONLY shows just them.",
)
