"""The GraphiQL page served on `GET /graphql` (Strawberry's, adapted): in dev it opens with
the demo administrator's token in the headers tab, so the schema and Docs load at once;
subscriptions authenticate with the same headers over the WebSocket, named or not; and a
page whose scripts could not be loaded says so and how to serve them, instead of
"Loading..." forever.

Scripts come from GRAPHIQL_ASSETS_URL in unpkg's layout (`<package>@<version>/<path>`),
their integrity pinned: a URL (unpkg by default, or a mirror that allows CORS), or a
folder on this machine, which the service then serves itself at /graphiql-assets (same
origin, for machines that cannot reach the CDN)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from server.settings import Environment, Settings, SettingsError
from services.demo import USERS, demo_token

# (path under the assets URL, subresource integrity), as Strawberry 0.341 pins them.
_SCRIPTS = (
    (
        "react@18.2.0/umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    (
        "react-dom@18.2.0/umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    (
        "graphiql@3.8.3/graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
)
_STYLES = (
    (
        "graphiql@3.8.3/graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
)

_PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>Credentials API · GraphiQL</title>
    <style>
      body { height: 100%%; margin: 0; width: 100%%; overflow: hidden; }
      #graphiql { height: 100vh; display: flex; }
      #graphiql.failed { display: block; padding: 2em; font: 16px/1.5 sans-serif; }
    </style>
    %(styles)s
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading GraphiQL...</div>
    <script>
      const ASSETS_URL = %(assets_url)s;
      const DEFAULT_HEADERS = %(headers)s;
      let scriptsFailed = false;
      function assetFailed(path) {
        if (scriptsFailed) return;
        scriptsFailed = true;
        const box = document.getElementById("graphiql");
        box.className = "failed";
        box.textContent = "GraphiQL could not load its scripts (" + ASSETS_URL + "/" + path +
          "): is the network or that server unreachable? Serve them from a reachable place " +
          "and set GRAPHIQL_ASSETS_URL (see the README: GraphiQL without the CDN). " +
          "The API itself works: POST /graphql.";
      }
    </script>
    %(scripts)s
    <script>
      (function () {
        if (scriptsFailed || typeof GraphiQL === "undefined") {
          assetFailed("graphiql");
          return;
        }
        const url = window.location.href.split("?")[0];
        const socket = new URL(url);
        socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
        socket.hash = "";
        // The headers tab's headers reach both: each request's, and each subscription's
        // connection_init payload (GraphiQL merges them over wsConnectionParams).
        // GraphiQL sends every subscription, named or not, over the WebSocket (tested in
        // tests/server/test_graphiql.py).
        const fetcher = GraphiQL.createFetcher({
          url: url,
          headers: DEFAULT_HEADERS,
          subscriptionUrl: socket.toString(),
          wsConnectionParams: DEFAULT_HEADERS,
        });
        const initialHeaders = Object.keys(DEFAULT_HEADERS).length
          ? JSON.stringify(DEFAULT_HEADERS, null, 2)
          : undefined;
        const root = ReactDOM.createRoot(document.getElementById("graphiql"));
        root.render(React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultHeaders: initialHeaders,
          defaultQuery: "{ me { name } }\\n",
          defaultEditorToolsVisibility: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
          inputValueDeprecation: true,
        }));
      })();
    </script>
  </body>
</html>
"""


def default_headers(settings: Settings) -> dict[str, str]:
    """The headers the page starts with: in dev with demo data, the demo administrator's
    token (printed by `serve` as well); nothing anywhere else."""
    if settings.environment is not Environment.DEV or not settings.load_demo_data:
        return {}
    [admin] = [user for user in USERS if user.role == "administrator"]
    return {"Authorization": f"Bearer {demo_token(settings.secret_key, admin)}"}


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


ASSETS_ROUTE = "/graphiql-assets"


def _assets_folder(settings: Settings) -> Path | None:
    url = settings.graphiql_assets_url
    return None if url.startswith(("http://", "https://")) else Path(url)


def graphiql_asset_routes(settings: Settings) -> list[BaseRoute]:
    """The route serving a local folder of GraphiQL's scripts, when one is configured."""
    folder = _assets_folder(settings)
    if not settings.graphiql or folder is None:
        return []
    if not (folder / _SCRIPTS[-1][0]).is_file():
        raise SettingsError(
            f"GRAPHIQL_ASSETS_URL={settings.graphiql_assets_url!r} is neither an http(s) URL "
            f"nor a folder holding {_SCRIPTS[-1][0]} (see the README: GraphiQL without the CDN)"
        )
    return [Mount(ASSETS_ROUTE, StaticFiles(directory=folder))]


def graphiql_page(settings: Settings) -> str:
    folder = _assets_folder(settings)
    base = ASSETS_ROUTE if folder is not None else settings.graphiql_assets_url.rstrip("/")
    styles = "\n    ".join(
        f'<link rel="stylesheet" crossorigin href="{escape(f"{base}/{path}")}" '
        f'integrity="{integrity}" />'
        for path, integrity in _STYLES
    )
    scripts = "\n    ".join(
        f'<script crossorigin src="{escape(f"{base}/{path}")}" integrity="{integrity}" '
        f"onerror=\"assetFailed('{escape(path)}')\"></script>"
        for path, integrity in _SCRIPTS
    )
    return _PAGE % {
        "styles": styles,
        "scripts": scripts,
        "assets_url": _script_json(base),
        "headers": _script_json(default_headers(settings)),
    }
