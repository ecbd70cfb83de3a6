"""The webhook channel's configuration, from settings: the secrets' sealing keys, the
target policy (https only in prod, private targets only when allowed), the timeout and
the retry schedule."""

from __future__ import annotations

from datetime import timedelta

from server.settings import Environment, Settings
from services.delivery.webhook.secrets import SecretBox, sealing_keys
from services.delivery.webhook.sender import WebhookSettings
from services.delivery.webhook.targets import Resolver, TargetPolicy, system_resolver
from services.media.encryption import parse_key


def secret_box(settings: Settings) -> SecretBox:
    media_keys = [parse_key(k) for k in settings.media_encryption_keys]
    return SecretBox(sealing_keys(media_keys, settings.secret_key))


def target_policy(settings: Settings) -> TargetPolicy:
    return TargetPolicy(
        allow_http=settings.environment is Environment.DEV,
        allow_private=settings.webhook_allow_private_targets,
    )


def webhook_settings(settings: Settings, resolver: Resolver | None = None) -> WebhookSettings:
    return WebhookSettings(
        policy=target_policy(settings),
        timeout_s=float(settings.webhook_timeout_s),
        resolver=resolver or system_resolver,
    )


def retry_schedule(settings: Settings) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=s) for s in settings.webhook_retry_schedule_s)
