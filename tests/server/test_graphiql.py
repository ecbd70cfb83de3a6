"""GraphiQL on first open, in a real headless Chromium against a real server: the demo
administrator's token is in the headers tab, so the schema and Docs load without a 401,
`{ me { name } }` runs, subscriptions take the WebSocket whether named or not, and a page
whose scripts cannot be loaded says so."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from server.graphiql import default_headers, graphiql_asset_routes, graphiql_page
from server.settings import Environment, Settings, SettingsError
from services.demo import USERS, demo_token
from tests.server.browser import (
    Page,
    chromium_page,
    graphiql_assets,
    missing_tools,
)
from tests.server.process import RunningServer, free_port, running_server

ADMIN = next(user for user in USERS if user.role == "administrator")
EDITORS = "[...document.querySelectorAll('.CodeMirror')].map(e => e.CodeMirror.getValue())"
RESULT = "document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue() || ''"


def test_the_page_holds_the_demo_administrators_token_in_dev_only() -> None:
    # Given dev with demo data, dev without, and prod
    dev = Settings()
    without_demo = replace(dev, load_demo_data=False)
    prod = replace(dev, environment=Environment.PROD, load_demo_data=False)

    # When each serves the page
    # Then only dev with demo data starts with the administrator's token
    token = demo_token(dev.secret_key, ADMIN)
    assert default_headers(dev) == {"Authorization": f"Bearer {token}"}
    assert token in graphiql_page(dev)
    assert default_headers(without_demo) == default_headers(prod) == {}
    assert "Bearer" not in graphiql_page(prod)


def test_the_page_loads_its_scripts_from_the_assets_url_or_folder(tmp_path: Path) -> None:
    mirror = graphiql_page(replace(Settings(), graphiql_assets_url="http://mirror.test/js/"))
    assert 'src="http://mirror.test/js/graphiql@3.8.3/graphiql.min.js"' in mirror
    assert "unpkg.com" not in mirror
    local = graphiql_page(replace(Settings(), graphiql_assets_url=str(tmp_path)))
    assert 'src="/graphiql-assets/graphiql@3.8.3/graphiql.min.js"' in local


def test_a_folder_without_the_scripts_is_refused_at_start_up(tmp_path: Path) -> None:
    settings = replace(Settings(), graphiql_assets_url=str(tmp_path / "nothing-here"))
    with pytest.raises(SettingsError, match="neither an http"):
        graphiql_asset_routes(settings)


def _browser_tests_possible() -> None:
    if reason := missing_tools():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def assets() -> Path:
    _browser_tests_possible()
    return graphiql_assets()


@pytest.fixture
def server(tmp_path: Path, assets: Path) -> Iterator[RunningServer]:
    """A dev server serving GraphiQL's scripts itself, from a folder (as the README shows
    for machines that cannot reach the CDN, like this one)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/graphiql.db", "GRAPHIQL_ASSETS_URL": str(assets)}
    with running_server(env) as running:
        yield running


@pytest.fixture
def page() -> Iterator[Page]:
    _browser_tests_possible()
    with chromium_page() as tab:
        yield tab


def _open_graphiql(page: Page, server: RunningServer) -> None:
    page.call("Page.navigate", url=f"{server.base_url}/graphql")
    page.wait_for("typeof GraphiQL !== 'undefined' && !!document.querySelector('.CodeMirror')")


def test_first_open_loads_the_schema_and_runs_me(page: Page, server: RunningServer) -> None:
    # When a newcomer opens GraphiQL on a dev server
    _open_graphiql(page, server)

    # Then the headers tab holds the administrator's token
    token = server.demo_tokens()["Ada Admin"]
    editors = page.wait_for(f"{EDITORS}.join('\\n').includes('Bearer ') && {EDITORS}")
    headers = [text for text in editors if '"Authorization"' in text]
    assert [json.loads(text) for text in headers] == [{"Authorization": f"Bearer {token}"}]
    # and the schema loaded: the Docs show the root types
    page.evaluate("document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()")
    page.wait_for("document.querySelector('.graphiql-doc-explorer')?.innerText.includes('Query')")
    # and `{ me { name } }` runs as the administrator
    page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    result = page.wait_for(f"({RESULT}).includes('Ada Admin') && ({RESULT})")
    assert json.loads(result)["data"] == {"me": {"name": "Ada Admin"}}


@pytest.mark.parametrize(
    "subscription",
    [
        "subscription { credentialEvents { kind } }",
        "subscription Named { credentialEvents { kind } }",
    ],
    ids=["anonymous", "named"],
)
def test_subscriptions_take_the_websocket_named_or_not(
    page: Page, server: RunningServer, subscription: str
) -> None:
    # Given GraphiQL open with a subscription in its editor
    _open_graphiql(page, server)
    page.evaluate(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
        f".setValue({json.dumps(subscription)})"
    )

    # When it is run, once GraphiQL took the edit in (it stores the query as it does)
    page.wait_for(f"localStorage.getItem('graphiql:query') === {json.dumps(subscription)}")
    page.evaluate("document.querySelector('.graphiql-execute-button').click()")

    # Then the server holds it open as a WebSocket subscription (over HTTP it would answer
    # at once, with an error)
    page.wait_for(
        f"fetch('{server.base_url}/metrics').then(r => r.text()).then(t => "
        "/\\ngraphql_subscriptions_open(\\{[^}]*\\})? 1(\\.0)?\\n/.test(t))"
    )
    assert "error" not in page.evaluate(RESULT).lower()


def test_unreachable_scripts_are_reported_plainly(page: Page, tmp_path: Path) -> None:
    # Given a server whose GraphiQL scripts are out of reach
    unreachable = f"http://127.0.0.1:{free_port()}"
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "GRAPHIQL_ASSETS_URL": unreachable}
    with running_server(env) as server:
        # When the page is opened
        page.call("Page.navigate", url=f"{server.base_url}/graphql")

        # Then it says so and how to serve them, instead of "Loading..." forever
        text = page.wait_for(
            "document.body.innerText.includes('could not load its scripts') && "
            "document.body.innerText"
        )
    assert "GRAPHIQL_ASSETS_URL" in text
    assert unreachable in text
