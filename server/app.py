"""The ASGI application and its lifespan, which owns every long-lived resource."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from models.base import utcnow
from models.locks import hold_setup_lock
from models.tenancy import unscoped
from schema import build_schema
from schema.limits import QueryLimits
from server.csv_routes import csv_endpoints
from server.database import Database, PoolShape
from server.delivery_worker import DeliveryWorker
from server.graphiql import graphiql_asset_routes
from server.graphql_view import GraphQLEndpoint
from server.http_errors import ErrorShapeMiddleware, error_response, http_exception
from server.imports import ImportRunner
from server.media_download import MediaDownload
from server.media_store import create_media_store
from server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from server.metrics import HttpMetricsMiddleware, Metrics
from server.migrations import pending_migrations, upgrade_to_head
from server.ratelimit import BucketShape, CostBuckets, MemoryBuckets, RedisBuckets
from server.realtime import Realtime
from server.request_id import RequestIdMiddleware
from server.security_headers import SecurityHeadersMiddleware
from server.settings import Environment, Settings
from services.demo import (
    USERS,
    demo_organization_id,
    demo_token,
    ensure_demo_tokens,
    load_demo_data,
)

logger = logging.getLogger("credentials.app")


async def prepare_database(database: Database, settings: Settings) -> None:
    """Migrate the embedded SQLite database; elsewhere migrations are a deploy step."""
    if settings.is_sqlite:
        await upgrade_to_head(database)
    elif pending := await pending_migrations(database):
        raise RuntimeError(
            f"the database schema is not up to date ({', '.join(pending)}): "
            "run `credentials-api migrate` before starting the service"
        )
    if settings.load_demo_data:
        async with database.transaction(unscoped()) as session:
            connection = await session.connection()
            await connection.run_sync(hold_setup_lock)
            demo_id = await demo_organization_id(session)
            if demo_id is None:
                await load_demo_data(session, settings.secret_key)
                logger.info("loaded the demo organization")
            else:
                await ensure_demo_tokens(session, demo_id, settings.secret_key)
        _print_demo_tokens(settings)


def _print_demo_tokens(settings: Settings) -> None:
    lines = ["Demo users and their API tokens (send as 'Authorization: Bearer <token>'):"]
    for user in USERS:
        lines.append(f"  {user.name:<14} {user.role:<36} {demo_token(settings.secret_key, user)}")
    print("\n".join(lines), flush=True)


def create_rate_limiter(settings: Settings) -> CostBuckets | None:
    """Per-token cost buckets: in Redis when the broadcast uses it (shared by every
    instance), else in the process; none when RATE_LIMIT_CAPACITY is 0."""
    if settings.rate_limit_capacity == 0:
        return None
    shape = BucketShape(settings.rate_limit_capacity, settings.rate_limit_restore_rate)
    if urlsplit(settings.broadcast_url).scheme in ("redis", "rediss"):
        return RedisBuckets(settings.broadcast_url, shape)
    return MemoryBuckets(shape)


def metrics_allowed(token: str | None, authorization: str | None) -> bool:
    """Open without METRICS_TOKEN; with it, only to a bearer of that token (compared in
    constant time)."""
    if token is None:
        return True
    scheme, _, presented = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode())


def pool_shape(settings: Settings) -> PoolShape:
    return PoolShape(
        settings.database_pool_size,
        settings.database_max_overflow,
        settings.database_pool_timeout_ms / 1000,
    )


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] = utcnow
) -> Starlette:
    settings = settings or Settings.from_env()
    settings.check_production_ready()
    database = Database(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool=pool_shape(settings),
    )
    metrics = Metrics()
    realtime = Realtime(settings, database, clock, metrics)
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_tokens=settings.max_query_tokens,
        max_cost=settings.max_query_cost,
        max_bytes=settings.max_query_bytes,
    )
    schema = build_schema(limits, field_suggestions=settings.environment is Environment.DEV)
    rate_limiter = create_rate_limiter(settings)
    media_store = create_media_store(settings)
    download = MediaDownload(database, settings, media_store, clock)
    endpoint = GraphQLEndpoint(
        schema, database, settings, clock, metrics, rate_limiter, realtime.hub, media_store
    )
    imports = ImportRunner(database, clock, metrics=metrics)
    # Built here, so an SMTP_URL that cannot work refuses the start.
    delivery = DeliveryWorker(database, settings, clock, metrics)
    csv_template, csv_export = csv_endpoints(database, schema, clock)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            await prepare_database(database, settings)
            await imports.fail_abandoned()
            realtime.start()
            if settings.delivery_worker:
                delivery.start()
            yield
        finally:
            await delivery.stop()
            await imports.stop()
            await realtime.stop()
            if rate_limiter is not None:
                await rate_limiter.close()
            await database.dispose()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        checks = {"database": True, "broadcast": await realtime.bus.ready()}
        try:
            await database.ping()
        except Exception:  # any failure to answer means not ready; the reason is logged
            logger.exception("readiness: the database did not answer")
            checks["database"] = False
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics_page(request: Request) -> Response:
        if not metrics_allowed(settings.metrics_token, request.headers.get("authorization")):
            return error_response(
                401,
                "UNAUTHENTICATED",
                "GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(metrics.exposition(), media_type=METRICS_CONTENT_TYPE)

    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", endpoint),
            Route("/media/{link}", download.respond, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_page),
            Route("/credentials/template.csv", csv_template),
            Route("/credentials/export.csv", csv_export),
            *graphiql_asset_routes(settings),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware, graphiql_assets_url=settings.graphiql_assets_url),
            Middleware(HttpMetricsMiddleware, metrics=metrics),
            Middleware(ErrorShapeMiddleware),
        ],
        exception_handlers={HTTPException: http_exception},
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.realtime = realtime
    app.state.metrics = metrics
    app.state.rate_limiter = rate_limiter
    app.state.settings = settings
    app.state.media_store = media_store
    app.state.imports = imports
    app.state.delivery_worker = delivery
    return app
