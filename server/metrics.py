"""Prometheus metrics of one app, served at /metrics.

Operation names are chosen by clients, so they are admitted as label values only while
there are fewer than MAX_OPERATION_NAMES of them; the rest count as "other". A hostile
client cannot make the registry grow without bound.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._names: set[str] = set()
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.operations = Histogram(
            "graphql_operation_duration_seconds",
            "GraphQL operations by name and type, and how long they took.",
            ["operation", "type"],
            registry=self.registry,
        )
        self.errors = Counter(
            "graphql_errors_total",
            "Errors in GraphQL responses by code (typed mutation errors included).",
            ["code"],
            registry=self.registry,
        )

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _NAME.match(name):
            return "invalid"
        if name in self._names:
            return name
        if len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
_MEDIA_PREFIX = "/media/"


def _route(path: str) -> str:
    """The route's template: one label per route, never one per download link."""
    if path in _ROUTES:
        return path
    return "/media/{link}" if path.startswith(_MEDIA_PREFIX) else "other"


class HttpMetricsMiddleware:
    """Counts HTTP responses by route (unknown paths as "other") and status code."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = _route(scope["path"])

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.http_requests.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
