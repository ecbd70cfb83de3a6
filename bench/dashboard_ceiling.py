"""The no-GraphQL ceiling for the dashboard benchmark: a hand-written Starlette endpoint
that runs one joined SQLAlchemy Core statement (the media count a correlated subquery)
and returns the JSON the GraphQL page returns, for the same rows. No authentication, no
logging: the fastest this page can be.

Run by bench/dashboard.py: DATABASE_URL=... uvicorn bench.dashboard_ceiling:app
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.relay import to_base64

from models import Credential, CredentialMedia, CredentialType, CredentialVersion, User
from models.credential_filter import ExpiryWindow, counting_expiry_date, expiry_status_of
from models.credential_settings import DEFAULT_EXPIRING_SOON_DAYS

PAGE_SIZE = 50
_engine = create_async_engine(os.environ["DATABASE_URL"])


def _statement(organization_id: int, today: date) -> Any:
    window = ExpiryWindow(today, today + timedelta(days=DEFAULT_EXPIRING_SOON_DAYS))
    latest = CredentialVersion
    media_count = (
        select(func.count())
        .where(CredentialMedia.version_id == latest.id)
        .correlate(latest)
        .scalar_subquery()
    )
    return (
        select(
            Credential.id,
            User.id,
            User.name,
            CredentialType.id,
            CredentialType.name,
            latest.id,
            latest.number,
            latest.issue_date,
            latest.expiry_date,
            latest.approval_status,
            media_count,
            expiry_status_of(counting_expiry_date(today), window),
        )
        .join(User, User.id == Credential.holder_id)
        .join(CredentialType, CredentialType.id == Credential.type_id)
        .join(
            latest,
            and_(
                latest.credential_id == Credential.id,
                latest.number == Credential.latest_version_number,
            ),
        )
        .where(Credential.organization_id == organization_id, Credential.archived_at.is_(None))
        .order_by(Credential.id.desc())
        .limit(PAGE_SIZE)
    )


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


async def page(request: Request) -> JSONResponse:
    organization_id = int(request.query_params.get("org", "1"))
    today = date.fromisoformat(request.query_params["today"])
    async with _engine.connect() as connection:
        rows = (await connection.execute(_statement(organization_id, today))).all()
    edges = [
        {
            "node": {
                "id": to_base64("Credential", row[0]),
                "holder": {"id": to_base64("User", row[1]), "name": row[2]},
                "type": {"id": to_base64("CredentialType", row[3]), "name": row[4]},
                "latestVersion": {
                    "id": to_base64("CredentialVersion", row[5]),
                    "number": row[6],
                    "issueDate": _day(row[7]),
                    "expiryDate": _day(row[8]),
                    "approvalStatus": row[9].value,
                    "mediaCount": row[10],
                },
                "expiryStatus": row[11],
            }
        }
        for row in rows
    ]
    return JSONResponse({"data": {"credentials": {"edges": edges}}})


app = Starlette(routes=[Route("/page", page)])
