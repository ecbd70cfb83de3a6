"""Headers every HTTP response carries: no MIME sniffing, no framing, no referrer, and a
Content-Security-Policy. API responses (JSON, CSV, metrics) allow nothing at all; the
GraphiQL page (the only HTML) loads its scripts and styles from unpkg.com, where
Strawberry's page takes them, and talks to this origin only. A response that set its own
policy (media downloads: a sandbox) keeps it."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The page's own bootstrap script and styles are inline, in Strawberry's HTML.
GRAPHIQL_POLICY = (
    "default-src 'none'; script-src https://unpkg.com 'unsafe-inline'; "
    "style-src https://unpkg.com 'unsafe-inline'; font-src https://unpkg.com data:; "
    "img-src 'self' data: https://unpkg.com; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                    "Content-Security-Policy", GRAPHIQL_POLICY if html else API_POLICY
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)
