"""With METRICS_TOKEN set, /metrics answers only a bearer of that token (401 in the one
error shape otherwise); without it, it stays open, as scrapers on a private network
expect."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.settings import Settings
from tests.conftest import http_client_on

TOKEN = "a-scraper-token-0123456789"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token", 401),
        (f"Basic {TOKEN}", 401),
        (f"Bearer {TOKEN}", 200),
    ],
)
async def test_metrics_need_the_metrics_token_when_one_is_set(
    settings: Settings, authorization: str | None, status: int
) -> None:
    # Given a service with METRICS_TOKEN
    async with http_client_on(replace(settings, metrics_token=TOKEN)) as http:
        # When /metrics is asked for
        headers = {"Authorization": authorization} if authorization else {}
        response = await http.get("/metrics", headers=headers)
    # Then only the bearer of the token reads it
    assert response.status_code == status, response.text
    if status == 401:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    else:
        assert "http_requests_total" in response.text or "# HELP" in response.text


async def test_metrics_stay_open_without_a_metrics_token(settings: Settings) -> None:
    async with http_client_on(settings) as http:
        assert (await http.get("/metrics")).status_code == 200


def test_the_metrics_token_is_a_setting_never_repeated() -> None:
    settings = Settings.from_env({"METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)
