"""Headers every HTTP response carries: no MIME sniffing, no framing, no referrer, and a
Content-Security-Policy. API responses (JSON, CSV, metrics) allow nothing at all; the
GraphiQL page (the only HTML) loads its scripts and styles from where GRAPHIQL_ASSETS_URL
says (unpkg.com by default, or this origin when they are served from a local folder) and
talks to this origin only. A response that set its own policy (media downloads: a
sandbox) keeps it."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def graphiql_policy(assets: str) -> str:
    """The page's policy, its scripts and styles from `assets` (an origin, or 'self'); its
    own bootstrap script and styles are inline."""
    return (
        f"default-src 'none'; script-src {assets} 'unsafe-inline'; "
        f"style-src {assets} 'unsafe-inline'; font-src {assets} data:; "
        f"img-src 'self' data: {assets}; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def assets_source(assets_url: str) -> str:
    """The CSP source of GRAPHIQL_ASSETS_URL: its origin, or 'self' for a local folder."""
    if not assets_url.startswith(("http://", "https://")):
        return "'self'"
    parts = urlsplit(assets_url)
    return f"{parts.scheme}://{parts.netloc}"


GRAPHIQL_POLICY = graphiql_policy("https://unpkg.com")
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, graphiql_assets_url: str = "https://unpkg.com") -> None:
        self.app = app
        self.page_policy = graphiql_policy(assets_source(graphiql_assets_url))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _COMMON.items():
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy", self.page_policy if html else API_POLICY
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)
