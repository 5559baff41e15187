"""The public page over HTTP: `/c/<slug>/`, its meetings and polls, an Atom feed of its updates and
the engagement chart, on the bot's one HTTP server.

Safe to publish: Jinja2 escapes every text (members typed them); a strict Content-Security-Policy
allows only this server's own stylesheet and script, no inline code, no frames, no forms; unknown
slugs, pages turned off and private items are one and the same 404; each client address gets a
bounded number of requests a minute; an unchanged page answers 304 on its ETag.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot import markup
from bot import poll_cards as cards
from bot.bilingual import shown_language, version
from bot.decisions import LABELS as DECISION_LABELS
from bot.i18n import DEFAULT, LANGUAGES, _, ngettext, speaking
from bot.markup import format_time
from bot.sectors import sector_name
from bot.services.decisions import STATES as DECISION_STATES
from bot.services.decisions import rules_of
from bot.services.goals import goal_line
from bot.services.reports import chart_alt
from bot.web import client_address

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app import App
    from bot.services import Services
    from bot.services.pages import PublicPoll
    from storage.models import Coalition

STATIC = "/c/_static"
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
CSP_FORM = CSP.replace("form-action 'none'", "form-action 'self'")  # the join page's one form
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept-Language",
}
ASSETS = {"page.css": "text/css", "local-time.js": "text/javascript"}
REPORT_KEPT = 300.0  # seconds a coalition's engagement figures (and chart) are reused between visits


def request_language(request: web.Request) -> str:
    """The language a visitor chose with the page's switch (`?lang=es`), else their browser's."""
    chosen = request.query.get("lang", "")
    return chosen if chosen in LANGUAGES else visitor_language(request.headers.get("Accept-Language", ""))


def visitor_language(header: str) -> str:
    """The first language of `Accept-Language` ("es-MX,es;q=0.9,en;q=0.8") that the bot speaks."""
    ranked = []
    for n, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and quality > 0:
            ranked.append((-quality, n, code))
    return min(ranked)[2] if ranked else DEFAULT


class RateLimit:
    """A token bucket per client address: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, per_minute: int = 120, burst: int = 60) -> None:
        self.rate = per_minute / 60
        self.burst = burst
        self.buckets: dict[str, tuple[float, float]] = {}

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        tokens, then = self.buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if len(self.buckets) > 10_000:  # forget idle addresses rather than grow without end
            self.buckets = {a: b for a, b in self.buckets.items() if now - b[1] < 600}
        if tokens < 1:
            self.buckets[address] = (tokens, now)
            return False
        self.buckets[address] = (tokens - 1, now)
        return True


class PublicPage:
    def __init__(self, app: App, limit: RateLimit | None = None) -> None:
        self.app = app
        self.limit = limit or RateLimit()
        self.join_limit = RateLimit(per_minute=5, burst=5)  # subscriptions: each one sends an email
        self._environment: Any = None
        # coalition id -> (when read, report); (coalition id, language) -> (when drawn, PNG)
        self._reports: dict[int, tuple[float, Any]] = {}
        self._charts: dict[tuple[int, str], tuple[float, bytes]] = {}
        for path, handler in (
            ("/c/{slug}", self._redirect),
            ("/c/{slug}/", self._page),
            ("/c/{slug}/meetings/{id:[0-9]{1,9}}", self._meeting),
            ("/c/{slug}/polls/{id:[0-9]{1,9}}", self._poll),
            ("/c/{slug}/broadcasts.atom", self._atom),
            ("/c/{slug}/engagement.png", self._chart),
            (STATIC + "/{name}", self._asset),
        ):
            app.web.add("GET", path, self._guarded(handler))
        # Subscribing by email (when email is on): the form, and the one POST that asks for consent.
        app.web.add("GET", "/c/{slug}/join", self._guarded(self._join))
        app.web.add("POST", "/c/{slug}/join", self._guarded(self._join, self.join_limit))

    # Plumbing ------------------------------------------------------------------------------

    @property
    def templates(self) -> Any:
        """Jinja2, loaded on the first visit: a bot whose page nobody opens never imports it."""
        if self._environment is None:
            from jinja2 import Environment, PackageLoader, select_autoescape

            self._environment = Environment(
                loader=PackageLoader("bot", "templates"),
                autoescape=select_autoescape(["html", "xml"]),
                trim_blocks=True,
                lstrip_blocks=True,
            )
        return self._environment

    def _guarded(self, handler: Any, limit: RateLimit | None = None) -> Any:
        async def guarded(request: web.Request) -> web.StreamResponse:
            from aiohttp import web

            if not (limit or self.limit).allow(client_address(request, self.app.settings.trusted_proxies)):
                return web.Response(
                    status=429, text="Too many requests; try again in a minute.", headers={"Retry-After": "30"}
                )
            return await handler(request)

        return guarded

    def _respond(self, request: web.Request, body: bytes, content_type: str, status: int = 200) -> web.Response:
        from aiohttp import web

        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {**SECURITY_HEADERS, "ETag": etag, "Cache-Control": "public, max-age=60"}
        asked = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
        if status == 200 and (etag in asked or "*" in asked):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, status=status, content_type=content_type, charset="utf-8", headers=headers)

    @property
    def prefix(self) -> str:
        """The path the public reaches this server under (`PUBLIC_BASE_URL`'s, behind a proxy), for links."""
        return urlsplit(self.app.settings.public_base_url or "").path.rstrip("/")

    def _render(
        self,
        request: web.Request,
        template: str,
        coalition: Coalition | None,
        *,
        language: str | None = None,
        **values: Any,
    ) -> bytes:
        language = language or request_language(request)
        zone = ZoneInfo(coalition.timezone) if coalition else UTC
        with speaking(language):
            html = self.templates.get_template(template).render(
                _=_,
                lang=language,
                # The switch's choice, kept on the page's own links; none when the browser chose.
                keep=f"?lang={language}" if request.query.get("lang") in LANGUAGES else "",
                switch=[(code, name) for code, name in sorted(LANGUAGES.items()) if code != language],
                coalition=coalition,
                zone=getattr(zone, "key", "UTC"),
                base=f"{self.prefix}/c/{coalition.page_slug}" if coalition else "",
                static=self.prefix + STATIC,
                show_time=lambda moment: format_time(moment, zone, "F"),
                too_few=cards.too_few,
                voters=lambda n: ngettext("{count} voter", "{count} voters", n).format(count=n),
                votes=lambda n: ngettext("{count} vote", "{count} votes", n).format(count=n),
                share=lambda results, n: round(100 * n / sum(results.counts)) if sum(results.counts) else 0,
                option=lambda poll, index: cards.label(poll, index, plain=True),
                decision_state=lambda p: " · ".join([_(DECISION_STATES[p.status]).capitalize(), *rules_of(p).words()]),
                positions=lambda p, counts: " · ".join(
                    f"{_(DECISION_LABELS[k])} {counts.get(k, 0)}" for k in p.kind.positions
                ),
                sector_name=sector_name,
                goal_line=goal_line,
                # What members wrote, in the reader's language where it was written in it too, and
                # the language it is in, for `lang` (a screen reader reads it in that voice).
                written=lambda content, field: version(content, field, getattr(content, field)),
                lang_of=lambda content: shown_language(content) or language,
                winner=_winner,
                **values,
            )
        return html.encode()

    def _not_found(self, request: web.Request) -> web.Response:
        """The same answer for an unknown slug, a page turned off and a private item."""
        return self._respond(request, self._render(request, "page/not_found.html", None), "text/html", 404)

    async def _coalition(self, services: Services, request: web.Request) -> Coalition | None:
        return await services.pages.published(request.match_info["slug"])

    async def _report(self, services: Services, coalition: Coalition) -> Any:
        """The engagement report, read at most every REPORT_KEPT seconds per coalition: it reads
        90 days of history, and a page any visitor may load must not cost that each time."""
        key = coalition.id or 0
        kept = self._reports.get(key)
        if kept is None or time.monotonic() - kept[0] > REPORT_KEPT:
            kept = (time.monotonic(), await services.pages.report(coalition))
            self._reports[key] = kept
        return kept[1]

    # Routes --------------------------------------------------------------------------------

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        raise web.HTTPMovedPermanently(f"{self.prefix}/c/{request.match_info['slug']}/")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        async with self.app.unit_of_work() as services:
            coalition = await self._coalition(services, request)
            if coalition is None:
                return self._not_found(request)
            view = await services.pages.view(coalition, await self._report(services, coalition))
            token = services.feeds.public_token(coalition)
            calendar = services.public_url(f"/calendar/{token}.ics") if token else None
        language = request_language(request)
        with speaking(language):
            alt = chart_alt(coalition.name, view.report) if view.report else ""
        join = self.app.mail_platform is not None
        body = self._render(
            request, "page/coalition.html", coalition, view=view, calendar=calendar, chart_alt=alt, join=join
        )
        return self._respond(request, body, "text/html")

    async def _meeting(self, request: web.Request) -> web.StreamResponse:
        async with self.app.unit_of_work() as services:
            coalition = await self._coalition(services, request)
            found = await services.pages.meeting(coalition, int(request.match_info["id"])) if coalition else None
        if coalition is None or found is None:
            return self._not_found(request)
        meeting, dates = found
        body = self._render(request, "page/meeting.html", coalition, meeting=meeting, dates=dates)
        return self._respond(request, body, "text/html")

    async def _poll(self, request: web.Request) -> web.StreamResponse:
        async with self.app.unit_of_work() as services:
            coalition = await self._coalition(services, request)
            item = await services.pages.poll(coalition, int(request.match_info["id"])) if coalition else None
        if coalition is None or item is None:
            return self._not_found(request)
        return self._respond(request, self._render(request, "page/poll.html", coalition, item=item), "text/html")

    async def _atom(self, request: web.Request) -> web.StreamResponse:
        async with self.app.unit_of_work() as services:
            coalition = await self._coalition(services, request)
            if coalition is None:
                return self._not_found(request)
            view = await services.pages.view(coalition)
            page_url = services.public_url(f"/c/{coalition.page_slug}/") or f"/c/{coalition.page_slug}/"
        updated = max((b.send_at for b in view.broadcasts), default=coalition.created_at)
        body = self._render(
            request,
            "page/atom.xml",
            coalition,
            broadcasts=view.broadcasts,
            page_url=page_url,
            feed_id=f"urn:coalition-bot:page:{coalition.page_slug}",
            updated=updated.astimezone(UTC).isoformat(),
        )
        return self._respond(request, body, "application/atom+xml")

    async def _chart(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        async with self.app.unit_of_work() as services:
            coalition = await self._coalition(services, request)
            if coalition is None:
                return self._not_found(request)
            report = await self._report(services, coalition)
            if report is None:
                return self._not_found(request)
            language = request_language(request)
            key = (coalition.id or 0, language)
            kept = self._charts.get(key)
            if kept is None or time.monotonic() - kept[0] > REPORT_KEPT:
                with speaking(language):
                    kept = (time.monotonic(), await services.reports.chart(report, coalition.name))
                self._charts[key] = kept
        response = self._respond(request, kept[1], "image/png")
        assert isinstance(response, web.Response)
        return response

    async def _join(self, request: web.Request) -> web.StreamResponse:
        """A resident asks for the coalition's emails: only a confirmation is sent, and the answer is
        the same whether the address is new, waiting or already on the list (it says nothing about
        who is). A GET shows the form; only the POST asks."""
        from aiohttp import web

        from bot.services.email import EmailProblem

        if self.app.mail_platform is None:
            return self._not_found(request)
        language = request_language(request)
        address, problem, sent = "", "", False
        async with self.app.unit_of_work() as services:
            coalition = await self._coalition(services, request)
            if coalition is None:
                return self._not_found(request)
            if request.method == "POST":
                posted = await request.post()
                address = str(posted.get("address", ""))[:254]
                chosen = str(posted.get("language", language))
                language = chosen if chosen in LANGUAGES else language
                try:
                    with speaking(language):
                        await services.email.add(coalition, address, language=language)
                    await services.commit()
                    sent = True
                except EmailProblem as exc:
                    problem = markup.plain(str(exc), UTC)
        body = self._render(
            request,
            "page/join.html",
            coalition,
            sent=sent,
            problem=problem,
            address="" if sent else address,
            languages=sorted(LANGUAGES.items()),
            language=language,
        )
        status = 400 if problem else 200
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": CSP_FORM, "Cache-Control": "no-store"}
        return web.Response(body=body, status=status, content_type="text/html", charset="utf-8", headers=headers)

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS:
            return self._not_found(request)
        body = files("bot").joinpath("templates", "page", name).read_bytes()
        return self._respond(request, body, ASSETS[name])


def _winner(item: PublicPoll) -> str:
    results = item.results
    assert results is not None
    names = [cards.label(item.poll, w, plain=True) for w in results.winners]
    if not names:
        return _("No votes were cast.")
    if len(names) == 1:
        return _("Winner: {option}.").format(option=names[0])
    return _("Tie between {options} and {last}.").format(options=", ".join(names[:-1]), last=names[-1])
