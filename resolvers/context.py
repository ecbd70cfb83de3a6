"""The typed context every resolver receives, one per HTTP request or WebSocket connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from models.tenancy import scoped_to
from resolvers.errors import NotAuthenticatedError
from resolvers.loaders import Loaders
from server.database import Database
from server.event_hub import EventHub
from server.metrics import Metrics
from server.ratelimit import CostBuckets
from server.settings import Settings
from services.media.storage import MediaStore
from services.viewer import Viewer


@dataclass
class RequestContext:
    request: Request | WebSocket
    response: Response | WebSocket | None
    database: Database
    settings: Settings
    request_id: str
    clock: Callable[[], datetime]
    metrics: Metrics | None = None
    rate_limiter: CostBuckets | None = None
    events: EventHub | None = None
    viewer: Viewer | None = None
    media_store: MediaStore | None = None
    # Codes of the typed errors mutations answered with, for the operation's log and metrics.
    error_codes: list[str] = field(default_factory=list)
    # Set by Strawberry from the graphql-transport-ws connection_init payload.
    connection_params: dict[str, object] | None = None
    _loaders: Loaders | None = field(default=None, repr=False)

    def require_media_store(self) -> MediaStore:
        if self.media_store is None:
            raise RuntimeError("this context has no media store: create_app gives it one")
        return self.media_store

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise NotAuthenticatedError()
        return self.viewer

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today in UTC: the default date for expiry status and validity."""
        return self.clock().date()

    @property
    def loaders(self) -> Loaders:
        """DataLoaders for this request only: they cache what this viewer may see."""
        if self._loaders is None:
            self._loaders = Loaders(self.database, self.require_viewer())
        return self._loaders

    def reset_loaders(self) -> None:
        self._loaders = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short session of its own: resolvers running at once never share one."""
        async with self.database.read(scoped_to(self.require_viewer().organization_id)) as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The one write transaction of a mutation."""
        organization_id = self.require_viewer().organization_id
        async with self.database.transaction(scoped_to(organization_id)) as session:
            yield session
