"""The bot's one HTTP server: every route it serves (Slack's events, calendar feeds, and what comes
later) on one aiohttp application and one port.

Routes are added before the server starts (aiohttp freezes its router then): the App adds its own
when it is made, a platform adapter its own in `start`, and whoever starts first starts the server;
starting it again is a no-op, so the Slack adapter and `coalition-bot run` can both ask for it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


class WebServer:
    """aiohttp is imported when the server starts, not before: a console that serves nothing
    starts without it."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self._runner: Any = None
        self.port: int | None = None

    def add(self, method: str, path: str, handler: Handler) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{method} {path}: routes are added before the server starts")
        self.routes.append((method, path, handler))

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: a free port); the port actually bound."""
        if self._runner is not None:
            assert self.port is not None
            return self.port
        from aiohttp import web

        application = web.Application()
        for method, path, handler in self.routes:
            application.router.add_route(method, path, handler)
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or []  # port 0 picks a free one; this says which
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("Serving HTTP on http://%s:%s", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
