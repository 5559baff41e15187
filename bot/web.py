"""The bot's one HTTP server: every route it serves (Slack's events, calendar feeds, and what comes
later) on one aiohttp application and one port.

Routes are added before the server starts (aiohttp freezes its router then): the App adds its own
when it is made, a platform adapter its own in `start`, and whoever starts first starts the server;
starting it again is a no-op, so the Slack adapter and `coalition-bot run` can both ask for it.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import Settings

log = logging.getLogger(__name__)

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


class WebServer:
    """aiohttp is imported when the server starts, not before: a console that serves nothing
    starts without it."""

    def __init__(self, refusing: Callable[[], bool] = lambda: False) -> None:
        """`refusing`: true once the bot is stopping; then every route but those added with
        `while_stopping=True` (liveness, metrics) answers 503, so a load balancer or Slack sees at
        once that nothing new is taken."""
        self.routes: list[tuple[str, str, Handler]] = []
        self._always: set[str] = set()
        self._refusing = refusing
        self._runner: Any = None
        self.port: int | None = None

    def add(self, method: str, path: str, handler: Handler, *, while_stopping: bool = False) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{method} {path}: routes are added before the server starts")
        self.routes.append((method, path, handler))
        if while_stopping:
            self._always.add(path)

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: a free port); the port actually bound."""
        if self._runner is not None:
            assert self.port is not None
            return self.port
        from aiohttp import web

        application = web.Application(middlewares=[self._refuse_while_stopping])
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

    @property
    def _refuse_while_stopping(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if self._refusing() and request.path not in self._always:
                return web.Response(
                    status=503,
                    text="The bot is restarting; please try again in a minute.",
                    headers={"Retry-After": "60", "Connection": "close"},
                )
            return await handler(request)

        return middleware

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def client_address(request: web.Request, trusted_proxies: Networks) -> str:
    """Who is asking: the connection's address, or, when that is one of TRUSTED_PROXIES, the
    address the proxy says it forwarded for (the right-most one it did not add itself). Without
    this every visitor behind a proxy shares the proxy's address; with it trusted blindly, any
    visitor could claim any address."""
    remote = request.remote or "?"
    if not trusted_proxies or not _within(remote, trusted_proxies):
        return remote
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    for hop in reversed(forwarded):
        if not _within(hop, trusted_proxies):
            return hop
    return forwarded[0] if forwarded else remote


def metrics_allowed(request: web.Request, settings: Settings) -> bool:
    """Metrics are for whoever runs the bot: with METRICS_TOKEN set, a request bearing it; without,
    a request from this machine that no proxy forwarded (behind a proxy on this machine every
    visitor would otherwise look local)."""
    if settings.metrics_token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    return _within(request.remote or "", (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")))


def _within(address: str, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
