"""Settings read from the environment, validated once at start-up."""

from __future__ import annotations

import math
import os
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from services.delivery.email.smtp import SmtpTarget, client_tls_context, parse_smtp_url
from services.text import has_control_characters

DEFAULT_SECRET_KEY = "insecure-development-secret-change-me"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/credentials.db"
DEFAULT_MEDIA_DIR = "var/media"
MB = 1024 * 1024
DEFAULT_MEDIA_MAX_FILE_BYTES = 20 * MB
DEFAULT_MEDIA_MAX_FILES = 10


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


# Seconds between a webhook's attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
# (27.6 hours in all, at least 24 with the jitter of 10%), then FAILED.
DEFAULT_WEBHOOK_RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable to fix."""


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver this service runs on."""
    for prefix, replacement in (
        ("sqlite:///", "sqlite+aiosqlite:///"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise SettingsError(
        f"DATABASE_URL {url!r} is not supported: use sqlite:///path/to/file.db "
        "or postgresql://user@host:5432/database"
    )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be at least {minimum}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


BROADCAST_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _broadcast_url(url: str) -> str:
    if urlsplit(url).scheme not in BROADCAST_SCHEMES:
        raise SettingsError(
            f"BROADCAST_URL {url!r} is not supported: use memory://, redis://host:6379/0 "
            "or postgres://user@host/database"
        )
    return url


def _smtp_target(url: str | None) -> SmtpTarget | None:
    if not url:
        return None
    try:
        return parse_smtp_url(url)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _smtp_tls_context(ca_file: Path | None) -> ssl.SSLContext | None:
    if ca_file is None:
        return None
    try:
        return client_tls_context(ca_file)
    except OSError as error:  # ssl.SSLError is one: a file without a usable certificate
        reason = (
            "it holds no PEM certificate that can be read"
            if isinstance(error, ssl.SSLError)
            else (error.strerror or str(error)).lower()
        )
        raise SettingsError(
            f"SMTP_CA_FILE={str(ca_file)!r} cannot be used ({reason}): name a readable PEM "
            "file of the CA certificates that issued the SMTP server's certificate"
        ) from None


def _public_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"PUBLIC_URL={raw!r} is not a dashboard address: use https://host[/path], where "
            "the dashboard serves /credentials/<id>"
        )
    return raw.strip().rstrip("/")


def _smtp_from(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if has_control_characters(value) or "@" not in parseaddr(value)[1]:
        raise SettingsError(
            f"SMTP_FROM={raw!r} is not an address: use no-reply@example.com or "
            "'Credentials <no-reply@example.com>'"
        )
    return value


# Bits of (Shannon) entropy a SECRET_KEY's characters must carry: secrets.token_hex(16)
# has about 115, 32 identical characters none, "abcd" repeated 64.
_MIN_SECRET_BITS = 96


def _looks_random(secret: str) -> bool:
    """At least 32 characters, not one string repeated, and spread over enough distinct
    characters: a length check alone lets 32 identical characters sign media links."""
    if len(secret) < 32 or secret in (secret + secret)[1:-1]:
        return False
    counts = Counter(secret)
    bits_per_character = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return bits_per_character * len(secret) >= _MIN_SECRET_BITS


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL={raw!r} is not a level: use one of {', '.join(LOG_LEVELS)}")
    return level


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    broadcast_url: str = "memory://"
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Environment = Environment.DEV
    secret_key: str = DEFAULT_SECRET_KEY
    graphiql: bool = True
    graphiql_assets_url: str = "https://unpkg.com"
    introspection: bool = True
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    load_demo_data: bool = True
    sqlite_busy_timeout_ms: int = 15_000
    log_level: str = "INFO"
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_tokens: int = 5_000
    max_query_cost: int = 1_000
    rate_limit_capacity: int = 2_000
    rate_limit_restore_rate: int = 100
    expiry_scheduler: bool = True
    expiry_sweep_interval_s: int = 300
    expired_reminder_window_days: int = 30
    event_poll_interval_ms: int = 2_000
    broadcast_heartbeat_ms: int = 1_000
    subscriber_queue_size: int = 1_000
    max_subscriptions_per_connection: int = 20
    subscription_auth_recheck_s: int = 60
    ws_init_timeout_ms: int = 10_000
    media_dir: Path = Path(DEFAULT_MEDIA_DIR)
    media_max_file_bytes: int = DEFAULT_MEDIA_MAX_FILE_BYTES
    media_max_files: int = DEFAULT_MEDIA_MAX_FILES
    # A whole request: every file of a full version, and room for the operation itself.
    max_request_bytes: int = DEFAULT_MEDIA_MAX_FILE_BYTES * DEFAULT_MEDIA_MAX_FILES + MB
    # Requests without files: a JSON body, and the GraphQL document in any request.
    max_json_body_bytes: int = MB
    max_query_bytes: int = 100_000
    media_link_seconds: int = 300
    # Base64 keys; the first seals new files, all of them open files (see README).
    media_encryption_keys: tuple[str, ...] = field(default_factory=tuple)
    # Delivery to the outside world (email). The URL may hold a password: never in a repr.
    smtp_url: str | None = field(default=None, repr=False)
    smtp_from: str | None = None
    public_url: str | None = None
    smtp_timeout_s: int = 30
    # PEM CA certificates trusted for the SMTP server instead of the system's (a private CA).
    smtp_ca_file: Path | None = None
    delivery_worker: bool = True
    delivery_interval_s: int = 15
    delivery_max_attempts: int = 8
    delivery_retry_base_s: int = 60
    # Hardening (#16): the connection pool, and limits on what one caller may hold open.
    database_pool_size: int = 5
    database_max_overflow: int = 10
    database_pool_timeout_ms: int = 2_000
    # When set, GET /metrics needs `Authorization: Bearer <it>`. Never in a repr.
    metrics_token: str | None = field(default=None, repr=False)
    # Webhooks (services/delivery/webhook): the same outbox and worker as email.
    webhook_timeout_s: int = 10
    webhook_retry_schedule_s: tuple[int, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE_S
    webhook_allow_private_targets: bool = False
    webhook_disable_after_days: int = 5

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw_environment = (env.get("ENVIRONMENT") or "dev").strip().lower()
        try:
            environment = Environment(raw_environment)
        except ValueError:
            raise SettingsError(
                f"ENVIRONMENT={raw_environment!r} is not known: use dev or prod"
            ) from None
        dev = environment is Environment.DEV
        max_file = _int(env, "MEDIA_MAX_FILE_BYTES", DEFAULT_MEDIA_MAX_FILE_BYTES, minimum=1)
        max_files = _int(env, "MEDIA_MAX_FILES", DEFAULT_MEDIA_MAX_FILES, minimum=1)
        settings = cls(
            database_url=normalize_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            broadcast_url=_broadcast_url(env.get("BROADCAST_URL") or "memory://"),
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8000, minimum=1),
            environment=environment,
            secret_key=env.get("SECRET_KEY") or DEFAULT_SECRET_KEY,
            graphiql=_bool(env, "GRAPHIQL", dev),
            graphiql_assets_url=env.get("GRAPHIQL_ASSETS_URL") or "https://unpkg.com",
            introspection=_bool(env, "INTROSPECTION", dev),
            allowed_origins=_list(env, "ALLOWED_ORIGINS"),
            load_demo_data=_bool(env, "LOAD_DEMO_DATA", dev),
            sqlite_busy_timeout_ms=_int(env, "SQLITE_BUSY_TIMEOUT_MS", 15_000),
            log_level=_log_level(env.get("LOG_LEVEL") or "INFO"),
            max_query_depth=_int(env, "MAX_QUERY_DEPTH", 10, minimum=1),
            max_query_aliases=_int(env, "MAX_QUERY_ALIASES", 30),
            max_query_tokens=_int(env, "MAX_QUERY_TOKENS", 5_000, minimum=100),
            max_query_cost=_int(env, "MAX_QUERY_COST", 1_000, minimum=1),
            rate_limit_capacity=_int(env, "RATE_LIMIT_CAPACITY", 2_000),
            rate_limit_restore_rate=_int(env, "RATE_LIMIT_RESTORE_RATE", 100, minimum=1),
            expiry_scheduler=_bool(env, "EXPIRY_SCHEDULER", True),
            expiry_sweep_interval_s=_int(env, "EXPIRY_SWEEP_INTERVAL_S", 300, minimum=1),
            expired_reminder_window_days=_int(env, "EXPIRED_REMINDER_WINDOW_DAYS", 30, minimum=1),
            event_poll_interval_ms=_int(env, "EVENT_POLL_INTERVAL_MS", 2_000, minimum=10),
            broadcast_heartbeat_ms=_int(env, "BROADCAST_HEARTBEAT_MS", 1_000, minimum=10),
            subscriber_queue_size=_int(env, "SUBSCRIBER_QUEUE_SIZE", 1_000, minimum=1),
            max_subscriptions_per_connection=_int(
                env, "MAX_SUBSCRIPTIONS_PER_CONNECTION", 20, minimum=1
            ),
            subscription_auth_recheck_s=_int(env, "SUBSCRIPTION_AUTH_RECHECK_S", 60),
            ws_init_timeout_ms=_int(env, "WS_INIT_TIMEOUT_MS", 10_000, minimum=1),
            media_dir=Path(env.get("MEDIA_DIR") or DEFAULT_MEDIA_DIR),
            media_max_file_bytes=max_file,
            media_max_files=max_files,
            max_request_bytes=_int(env, "MAX_REQUEST_BYTES", max_file * max_files + MB, minimum=MB),
            max_json_body_bytes=_int(env, "MAX_JSON_BODY_BYTES", MB, minimum=1024),
            max_query_bytes=_int(env, "MAX_QUERY_BYTES", 100_000, minimum=1024),
            media_link_seconds=_int(env, "MEDIA_LINK_SECONDS", 300, minimum=1),
            media_encryption_keys=_list(env, "MEDIA_ENCRYPTION_KEYS"),
        )
        settings = _with_delivery_settings(settings, env)
        return _with_webhook_settings(_with_hardening_settings(settings, env), env)

    def check_production_ready(self) -> None:
        """Refuse to run in prod on development defaults."""
        if self.environment is not Environment.PROD:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or not _looks_random(self.secret_key):
            raise SettingsError(
                "ENVIRONMENT=prod needs SECRET_KEY set to a random value of at least "
                "32 characters, not a repeated character or pattern (for example: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.load_demo_data:
            raise SettingsError("ENVIRONMENT=prod must not load demo data: unset LOAD_DEMO_DATA")
        if self.smtp_url and not self.public_url:
            raise SettingsError(
                "ENVIRONMENT=prod with SMTP_URL needs PUBLIC_URL, the dashboard's address "
                "that links in emails point to"
            )

    def smtp_target(self) -> SmtpTarget | None:
        """The SMTP server of SMTP_URL; None when email is not configured."""
        return _smtp_target(self.smtp_url)

    def smtp_tls_context(self) -> ssl.SSLContext | None:
        """What verifies the SMTP server: SMTP_CA_FILE's CAs; None for the system's."""
        return _smtp_tls_context(self.smtp_ca_file)

    def email_public_url(self) -> str:
        """Where links in messages point: PUBLIC_URL, or this instance in development."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return Path(path) if path and path != ":memory:" else None


def _with_delivery_settings(settings: Settings, env: Mapping[str, str]) -> Settings:
    """SMTP_URL, SMTP_FROM, PUBLIC_URL, SMTP_TIMEOUT_S, SMTP_CA_FILE and the delivery
    worker's settings; an SMTP_URL or SMTP_CA_FILE that cannot be used refuses the start."""
    smtp_url = env.get("SMTP_URL") or None
    _smtp_target(smtp_url)
    smtp_ca_file = Path(env["SMTP_CA_FILE"]) if env.get("SMTP_CA_FILE") else None
    _smtp_tls_context(smtp_ca_file)
    public_url = env.get("PUBLIC_URL")
    return replace(
        settings,
        smtp_url=smtp_url,
        smtp_from=_smtp_from(env.get("SMTP_FROM")),
        public_url=_public_url(public_url) if public_url else None,
        smtp_timeout_s=_int(env, "SMTP_TIMEOUT_S", 30, minimum=1),
        smtp_ca_file=smtp_ca_file,
        delivery_worker=_bool(env, "DELIVERY_WORKER", True),
        delivery_interval_s=_int(env, "DELIVERY_INTERVAL_S", 15, minimum=1),
        delivery_max_attempts=_int(env, "DELIVERY_MAX_ATTEMPTS", 8, minimum=1),
        delivery_retry_base_s=_int(env, "DELIVERY_RETRY_BASE_S", 60, minimum=1),
    )


def _with_hardening_settings(settings: Settings, env: Mapping[str, str]) -> Settings:
    """The connection pool's size and timeout, and the per-caller limits of #16."""
    return replace(
        settings,
        database_pool_size=_int(env, "DATABASE_POOL_SIZE", 5, minimum=1),
        database_max_overflow=_int(env, "DATABASE_MAX_OVERFLOW", 10),
        database_pool_timeout_ms=_int(env, "DATABASE_POOL_TIMEOUT_MS", 2_000, minimum=1),
        metrics_token=env.get("METRICS_TOKEN") or None,
    )


def _with_webhook_settings(settings: Settings, env: Mapping[str, str]) -> Settings:
    """WEBHOOK_TIMEOUT_S, WEBHOOK_RETRY_SCHEDULE_S, WEBHOOK_ALLOW_PRIVATE_TARGETS and
    WEBHOOK_DISABLE_AFTER_DAYS."""
    raw_schedule = env.get("WEBHOOK_RETRY_SCHEDULE_S")
    schedule: tuple[int, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE_S
    if raw_schedule:
        try:
            schedule = tuple(int(part) for part in raw_schedule.split(","))
        except ValueError:
            schedule = ()
        if not schedule or min(schedule) < 1:
            raise SettingsError(
                "WEBHOOK_RETRY_SCHEDULE_S must be comma-separated seconds between attempts, "
                "each at least 1, as in 5,300,1800,7200,18000,36000,36000"
            )
    return replace(
        settings,
        webhook_timeout_s=_int(env, "WEBHOOK_TIMEOUT_S", 10, minimum=1),
        webhook_retry_schedule_s=schedule,
        webhook_allow_private_targets=_bool(env, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False),
        webhook_disable_after_days=_int(env, "WEBHOOK_DISABLE_AFTER_DAYS", 5, minimum=1),
    )
