"""What a webhook posts: `{type, timestamp, data}` (Standard Webhooks), whose data has
the fields a CREDENTIALS_MANAGE subscriber of credentialEvents reads, with Relay global
ids and the event's cursor. Never a credential's media or files: their links and names
are not part of it.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from models.credential import CredentialVersion
from models.user import User
from services.delivery.links import relay_global_id
from services.events import EventSnapshot

_FIELD_NAMES = {
    "issue_date": "issueDate",
    "expiry_date": "expiryDate",
    "credential_number": "credentialNumber",
    "approval_status": "approvalStatus",
    "rejection_reason": "rejectionReason",
}
PING_TYPE = "webhook.ping"


def event_cursor(event_id: int) -> str:
    """The cursor credentialEvents gives the event (resolvers.events.event_cursor)."""
    key = json.dumps(["event", event_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(key.encode()).decode()


def event_type(kind: str) -> str:
    return f"credential.{kind.lower()}"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _user(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": relay_global_id("User", user.id), "name": user.name, "email": user.email}


def _version(version: CredentialVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "id": relay_global_id("CredentialVersion", version.id),
        "number": version.number,
        "approvalStatus": version.approval_status.value,
        "issueDate": version.issue_date.isoformat() if version.issue_date else None,
        "expiryDate": version.expiry_date.isoformat() if version.expiry_date else None,
        "credentialNumber": version.credential_number,
        "rejectionReason": version.rejection_reason,
    }


def event_payload(snapshot: EventSnapshot) -> dict[str, Any]:
    event = snapshot.event
    credential = snapshot.credential
    version = next((v for v in snapshot.versions if v.id == event.version_id), None)
    fields = event.data.get("fields")
    lead_days = event.data.get("leadDays")
    expiry = event.data.get("expiryDate")
    credential_type = snapshot.credential_type
    data = {
        "cursor": event_cursor(event.id),
        "kind": event.kind.value,
        "occurredAt": _iso(event.occurred_at),
        "credential": None
        if credential is None
        else {
            "id": relay_global_id("Credential", credential.id),
            "externalId": credential.external_id,
            "archived": credential.archived_at is not None,
            "latestVersionNumber": credential.latest_version_number,
        },
        "credentialId": relay_global_id("Credential", event.credential_id),
        "version": _version(version),
        "holder": _user(snapshot.holder),
        "actor": _user(snapshot.actor),
        "credentialType": None
        if credential_type is None
        else {
            "id": relay_global_id("CredentialType", credential_type.id),
            "name": credential_type.name,
        },
        "changedFields": [_FIELD_NAMES.get(str(f), str(f)) for f in fields]
        if isinstance(fields, list)
        else None,
        "leadDays": lead_days if isinstance(lead_days, int) else None,
        "expiryDate": expiry if isinstance(expiry, str) else None,
    }
    return {
        "type": event_type(event.kind.value),
        "timestamp": _iso(event.occurred_at),
        "data": data,
    }


def ping_payload(endpoint_id: int, now: datetime) -> dict[str, Any]:
    return {
        "type": PING_TYPE,
        "timestamp": _iso(now),
        "data": {"endpointId": relay_global_id("WebhookEndpoint", endpoint_id)},
    }


def body_of(payload: dict[str, Any]) -> str:
    """The bytes signed and sent: compact, keys in a fixed order, the same every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
