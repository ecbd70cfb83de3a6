"""Posting a signed request (httpx): to the address the target check approved (no DNS
rebinding between the check and the connection), within WEBHOOK_TIMEOUT_S in all,
redirects not followed. A 2xx is success; every other answer, a refusal, a timeout or a
target that is no longer allowed is a temporary failure, retried on the schedule. Every
attempt is recorded with what was sent and what came back (the first kilobyte)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

import httpx

from models.webhook import insert_attempt
from services.delivery.channel import DeliveryFailure, Outgoing
from services.delivery.webhook.health import EndpointHealth
from services.delivery.webhook.targets import (
    Resolver,
    TargetPolicy,
    TargetRefused,
    parse_target,
    resolve_target,
    system_resolver,
)

RESPONSE_BODY_KEPT = 1024


@dataclass(frozen=True)
class WebhookSettings:
    policy: TargetPolicy
    timeout_s: float = 10.0
    resolver: Resolver = system_resolver


@dataclass(frozen=True)
class WebhookRequest:
    """One signed POST, as it is sent and recorded."""

    endpoint_id: int
    organization_id: int
    url: str
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)
    failing_since: datetime | None = None


@dataclass
class _Answer:
    status: int | None = None
    body: str | None = None
    error: str | None = None


class WebhookSender:
    """One HTTP client for a lane's batch (connections to the endpoint are reused)."""

    def __init__(
        self, settings: WebhookSettings, clock: Callable[[], datetime], health: EndpointHealth
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._health = health
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> WebhookSender:
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self._settings.timeout_s),
            trust_env=False,  # never through a proxy the environment names
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._client is not None
        await self._client.aclose()

    async def send(self, outgoing: Outgoing) -> None:
        request: WebhookRequest = outgoing.content
        attempted_at = self._clock()
        started = time.perf_counter()
        answer, unreachable = await self._post(request)
        elapsed = time.perf_counter() - started
        duration_ms = round(elapsed * 1000)
        self._health.attempted(elapsed, answer.error is None)
        await self._health.write_one(
            insert_attempt().values(
                organization_id=request.organization_id,
                delivery_id=outgoing.delivery_id,
                attempted_at=attempted_at,
                url=request.url,
                request_headers=request.headers,
                request_body=request.body,
                response_status=answer.status,
                response_body=answer.body,
                duration_ms=duration_ms,
                error=answer.error,
            )
        )
        if answer.error is None:
            await self._health.succeeded(request.endpoint_id, request.failing_since)
            return
        await self._health.failed(request.endpoint_id, request.organization_id, request.url)
        raise DeliveryFailure(answer.error, temporary=True, unreachable=unreachable)

    async def _post(self, request: WebhookRequest) -> tuple[_Answer, bool]:
        """What came back, and whether the endpoint could not be reached at all."""
        assert self._client is not None
        settings = self._settings
        try:
            target = parse_target(request.url, settings.policy)
            address = await resolve_target(target, settings.policy, settings.resolver)
        except TargetRefused as refused:
            return _Answer(error=f"refused: {refused}"), True
        url = httpx.URL(request.url)
        pinned = url.copy_with(host=address)
        headers = {**request.headers, "host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            async with asyncio.timeout(settings.timeout_s):
                async with self._client.stream(
                    "POST",
                    pinned,
                    content=request.body.encode(),
                    headers=headers,
                    extensions=extensions,
                ) as response:
                    kept = await _first_bytes(response, RESPONSE_BODY_KEPT)
        except TimeoutError:
            return _Answer(error=f"no answer within {settings.timeout_s:g} s"), True
        except httpx.TimeoutException:
            return _Answer(error=f"no answer within {settings.timeout_s:g} s"), True
        except httpx.HTTPError as error:
            return _Answer(error=f"could not post: {type(error).__name__}: {error}"), True
        text = kept.decode("utf-8", errors="replace")
        if 200 <= response.status_code < 300:
            return _Answer(response.status_code, text), False
        reason = f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            reason += " (redirects are not followed)"
        return _Answer(response.status_code, text, reason), False


async def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= limit:
            break
    return kept[:limit]
