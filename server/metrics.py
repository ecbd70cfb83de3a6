"""Prometheus metrics of one app, served at /metrics.

Operation names are chosen by clients, so they are admitted as label values only while
there are fewer than MAX_OPERATION_NAMES of them; the rest count as "other". A hostile
client cannot make the registry grow without bound.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
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

        self.subscriptions = Gauge(
            "graphql_subscriptions_open",
            "Subscriptions open on this process.",
            registry=self.registry,
        )
        self.subscriptions_replaying = Gauge(
            "graphql_subscriptions_replaying",
            "Subscriptions still reading the event log up to now, before going live.",
            registry=self.registry,
        )
        self.events_read = Counter(
            "credential_events_read_total",
            "Credential events read from the log for this process's subscribers.",
            registry=self.registry,
        )
        self.events_delivered = Counter(
            "credential_events_delivered_total",
            "Credential events sent to subscribers, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.bus_connections = Counter(
            "event_bus_connections_total",
            "Times the event bus (re)connected to the broker: more than one means outages.",
            registry=self.registry,
        )
        self.events_published = Counter(
            "credential_event_signals_published_total",
            "Commits that wrote credential events, signalled to the other instances.",
            registry=self.registry,
        )
        self.slow_subscribers = Counter(
            "graphql_subscriptions_too_slow_total",
            "Subscriptions ended because the client fell too far behind.",
            registry=self.registry,
        )
        self.scheduler_runs = Counter(
            "expiry_scheduler_runs_total",
            "Expiry sweeps by outcome (swept, busy: another instance held the claim, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.reminders_sent = Counter(
            "expiry_reminders_sent_total",
            "Expiry reminders (EXPIRING_SOON and EXPIRED events) written by the scheduler.",
            registry=self.registry,
        )
        self.digests_queued = Counter(
            "digests_queued_total",
            "Managers' digests queued for email by the scheduler (empty ones are not sent).",
            registry=self.registry,
        )

        self.import_jobs = Counter(
            "credential_import_jobs_total",
            "CSV import jobs by how they ended (dry runs included): succeeded, failed, error.",
            ["outcome", "dry_run"],
            registry=self.registry,
        )
        self.import_rows = Counter(
            "credential_import_rows_total",
            "CSV import rows read by ended jobs, by result.",
            ["result"],
            registry=self.registry,
        )

        self.deliveries = Counter(
            "deliveries_total",
            "Outbox deliveries by channel and outcome: sent, skipped (turned off, no address, "
            "not configured), retried (a temporary failure), failed (for good), released "
            "(claimed but left for the next pass).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.delivery_queue = Gauge(
            "deliveries_pending",
            "Deliveries waiting to be sent, by channel, as of the last worker pass.",
            ["channel"],
            registry=self.registry,
        )
        self.delivery_oldest_pending = Gauge(
            "deliveries_oldest_pending_age_seconds",
            "Age of the oldest delivery waiting, by channel, as of the last worker pass.",
            ["channel"],
            registry=self.registry,
        )
        self.webhook_attempts = Histogram(
            "webhook_attempt_duration_seconds",
            "How long each webhook POST took, by whether the receiver accepted it.",
            ["accepted"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
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
