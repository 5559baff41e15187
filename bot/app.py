"""The running bot's shared parts: settings, database, clock, scheduler, delivery workers and the
HTTP server's routes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.clock import Clock, SystemClock
from bot.config import Settings, anonymity_secret
from bot.delivery import DeliveryWorker, ProgressHook
from bot.due import (
    DecisionReviews,
    EngagementKeeper,
    Fanouts,
    Housekeeping,
    MeetingClock,
    PendingErasure,
    PollDeadlines,
    ProposalDeadlines,
    WeeklyDigests,
)
from bot.health import PROBE_BUDGET, Health, alive
from bot.inflight import InFlight
from bot.messenger import Messenger
from bot.metrics import Metrics
from bot.pacing import UNLIMITED, Pacer, PacingPolicy, SharedPacer
from bot.public_page import PublicPage
from bot.scheduler import Scheduler
from bot.services import Services
from bot.services.doctor import PlatformCheck
from bot.services.feedback import DailyCounts
from bot.services.feeds import FEED_PATH
from bot.tallies import SealedTallies
from bot.web import WebServer, metrics_allowed
from storage import Database, Repositories
from storage.backup import running
from storage.database import sqlite_path

if TYPE_CHECKING:
    from aiohttp import web


class App:
    def __init__(self, settings: Settings, db: Database, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.secret = anonymity_secret(settings)
        self.feedback_counts = DailyCounts()
        self.sealed_tallies = SealedTallies()
        self.scheduler = Scheduler(self.clock)
        self.workers: dict[str, DeliveryWorker] = {}
        self.progress_hooks: dict[str, ProgressHook] = {"broadcast": self._broadcast_progress}
        self.scheduler.add(MeetingClock(self))
        self.scheduler.add(PollDeadlines(self))
        self.scheduler.add(ProposalDeadlines(self))
        self.scheduler.add(DecisionReviews(self))
        self.scheduler.add(WeeklyDigests(self))
        self.scheduler.add(Fanouts(self))
        self.scheduler.add(Housekeeping(self))
        self.scheduler.add(PendingErasure(self))
        self.scheduler.add(EngagementKeeper(self))
        self.metrics = Metrics()
        # What the platforms were told was received: a stop finishes it before the bot exits.
        self.inflight = InFlight()
        # Started platforms add theirs: a name and a function saying what is wrong, or None. They
        # report the connection they hold; a probe never calls the platform.
        self.health_checks: dict[str, Callable[[], Awaitable[str | None]]] = {}
        # Started platforms add theirs too: what `/coalition doctor` asks each platform.
        self.platform_checks: dict[str, PlatformCheck] = {}
        # The started platform that delivers to members' addresses (email), if any.
        self.mail_platform: str | None = None
        self.unedited: frozenset[str] = frozenset()  # platforms whose messages cannot be edited (email)
        file = sqlite_path(settings.database_url)
        self.health = Health(db, self.scheduler, self.inflight, file.resolve() if file else None, self.health_checks)
        self.web = WebServer(refusing=lambda: self.inflight.stopping)
        self.web.add("GET", FEED_PATH, self._calendar_feed)
        self.web.add("GET", "/livez", self._livez, while_stopping=True)
        self.web.add("GET", "/readyz", self._readyz, while_stopping=True)
        self.web.add("GET", "/healthz", self._readyz, while_stopping=True)  # the older name of /readyz
        self.web.add("GET", "/metrics", self._metrics, while_stopping=True)
        self.public_page = PublicPage(self)

    async def _livez(self, request: web.Request) -> web.StreamResponse:
        """200 while the process answers at all: restart it only when this fails."""
        from aiohttp import web

        return web.json_response(alive())

    async def _readyz(self, request: web.Request) -> web.StreamResponse:
        """200 when the bot can do its work (database writable, scheduler waking, platforms
        connected, not stopping); 503 otherwise, with what is wrong. Answers within 2 s."""
        from aiohttp import web

        checks = await self.health.ready()
        healthy = all(v == "ok" for v in checks.values())
        return web.json_response({"healthy": healthy, "checks": checks}, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        """Prometheus' scrape: only for whoever runs the bot (see `metrics_allowed`). It answers
        even when the database does not, with coalition_database_up 0."""
        from aiohttp import web
        from prometheus_client import CONTENT_TYPE_LATEST

        if not metrics_allowed(request, self.settings):
            return web.Response(status=403, text="Metrics are served to this machine, or with METRICS_TOKEN.")
        problem = await self.health.database()
        self.metrics.database_up.set(0 if problem else 1)
        if problem is None:
            try:
                async with asyncio.timeout(PROBE_BUDGET):
                    await self._read_figures()
            except Exception:  # the database went away between the two questions: still answer
                self.metrics.database_up.set(0)
        if self.scheduler.last_success is not None:
            self.metrics.scheduler_success.set(self.scheduler.last_success)
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _read_figures(self) -> None:
        now = self.clock.now()
        async with self.unit_of_work() as services:
            open_rows, oldest = await services.deliveries.queue_figures(now)
            reminders = await services.meetings.reminder_counts()
        self.metrics.outbox.clear()
        for platform, status, rows in open_rows:
            self.metrics.outbox.labels(platform, status).set(rows)
        for platform in {*self.workers, *oldest}:
            due = oldest.get(platform)
            self.metrics.outbox_oldest.labels(platform).set((now - due).total_seconds() if due else 0)
        for status in ("pending", "sent", "missed"):
            self.metrics.reminders.labels(status).set(reminders.get(status, 0))

    async def secret_problem(self) -> str | None:
        """Why the bot must not start with this ANONYMITY_SECRET: it does not open the keys of the
        anonymous polls the database holds (a database moved or restored without its secret)."""
        async with self.unit_of_work() as services:
            return await services.doctor.secret_problem(self.secret)

    def in_use(self) -> contextlib.AbstractContextManager[None]:
        """Held while the bot runs on a SQLite file, so `coalition-bot restore` will not replace it."""
        path = sqlite_path(self.settings.database_url)
        return running(path.resolve()) if path is not None else contextlib.nullcontext()

    def public_base(self) -> str | None:
        """Where members reach the HTTP server: PUBLIC_BASE_URL, or where it listens; None when off."""
        if not self.web.running:
            return None
        return self.settings.public_base_url or f"http://{self.settings.web_host}:{self.web.port}"

    async def serve_http(self) -> int | None:
        """Start the HTTP server where the settings say (HTTP_PORT, which `adapters.load_settings`
        sets to a platform's own port when it needs one: `PlatformAdapter.listens`); the port."""
        port = self.settings.web_port
        if port is None:
            return None
        return await self.web.start(self.settings.web_host, port)

    async def _calendar_feed(self, request: web.Request) -> web.StreamResponse:
        """A calendar app polling a member's (or the public) feed. Unknown, revoked and forgotten
        addresses all get the same 404; an unchanged calendar gets 304 on its ETag."""
        from aiohttp import web

        async with self.unit_of_work() as services:
            found = await services.feeds.resolve(request.match_info["token"])
            if found is None:
                raise web.HTTPNotFound(text="There is no calendar at this address. Ask the bot: /meeting feed")
            body = await services.feeds.calendar(*found)
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
        asked = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
        if etag in asked or "*" in asked:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="text/calendar", charset="utf-8", headers=headers)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Services]:
        """Services on one transaction. The caller commits; anything else is rolled back."""
        async with self.db.session() as session:
            yield Services(
                Repositories(session),
                self.settings,
                self.clock,
                self.secret,
                feedback_counts=self.feedback_counts,
                public_base=self.public_base(),
                sealed_tallies=self.sealed_tallies,
                platform_checks=self.platform_checks,
                mail_platform=self.mail_platform,
                unedited=self.unedited,
            )

    def add_messenger(
        self, messenger: Messenger, pacing: PacingPolicy = UNLIMITED, **options: object
    ) -> DeliveryWorker:
        """Deliver this platform's outbox rows from this process. A messenger missing a method of
        the contract is refused here, at start, not at its first delivery."""
        if not isinstance(messenger, Messenger):
            wanted = ("platform", "send", "send_private", "update", "find_sent")
            missing = [name for name in wanted if not hasattr(messenger, name)]
            raise TypeError(f"{type(messenger).__name__} is not a Messenger: it has no {', '.join(missing)}")
        options.setdefault("lease", timedelta(seconds=self.settings.outbox_lease_seconds))
        # On PostgreSQL several processes may send for one platform: they pace together.
        shared = self.db.url.startswith("postgresql")
        pacer = SharedPacer(pacing, self.db, messenger.platform) if shared else Pacer(pacing)
        worker = DeliveryWorker(self, messenger, pacer, **options)  # type: ignore[arg-type]
        self.workers[messenger.platform] = worker
        if not getattr(messenger, "edits", True):
            self.unedited = self.unedited | {messenger.platform}
        self.scheduler.add(worker)
        return worker

    async def _broadcast_progress(self, broadcast_ids: set[int]) -> None:
        async with self.unit_of_work() as services:
            for broadcast_id in sorted(broadcast_ids):
                await services.broadcasts.refresh_report(broadcast_id)
            await services.commit()

    @staticmethod
    def settle() -> None:
        """Once started: what was made while starting (modules, the schema's tables, the command
        registry) lives as long as the process, so it is moved out of the garbage collector's
        sight. A full collection then walks only what requests made since; walking everything
        paused a burst of clicks, and every command waiting behind it, for about 75 ms."""
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.web.stop()
        await self.db.dispose()
