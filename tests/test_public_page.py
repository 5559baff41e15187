"""The public page (issue 21): only what coordinators publish, escaped, in the visitor's language,
over the bot's own HTTP server; and in a real browser (headless Chromium), with axe-core."""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters import build_dispatcher
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from bot.public_page import RateLimit, visitor_language
from storage import Database
from tests.harness import Harness, shown

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert('x')</script>'><img src=x onerror=alert(1)>"
VOTERS = ["Rosalind", "Tiberius", "Octavia", "Leopold", "Wilhelmina", "Bartholomew", "Cordelia"]


@pytest.fixture
async def served(db: Database, clock: SimulatedClock) -> AsyncIterator[tuple[Harness, str]]:
    app = App(Settings(database_url=db.url, http_port=0, timezone="America/Chicago"), db, clock)
    bot = Harness(build_dispatcher(app))
    await bot.start("Eastside Safety Coalition")
    port = await app.serve_http()
    yield bot, f"http://127.0.0.1:{port}"
    await app.close()


async def advance(bot: Harness, by: timedelta) -> None:
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + by)


async def publish(bot: Harness) -> dict[str, int]:
    """The issue's walk-through: a page, a public and a private meeting with minutes, a named and
    an anonymous public poll closed with 7 voters, a public and a members-only broadcast."""
    said = shown(await bot.run("/coalition page on"))
    assert "/c/eastside-safety-coalition/" in said, said
    await bot.run(
        '/meeting schedule "Community safety walk" "2026-11-24 18:00" --where "Library steps" '
        "--agenda \"Route<iframe src='https://evil.example'></iframe>\""
    )
    await bot.run('/meeting schedule "Internal planning" "2026-11-24 20:00" --private')
    await bot.run(f'/meeting schedule "{HOSTILE}" "2026-12-10 18:30" --where "javascript:alert(1)"')
    await bot.run('/poll create "Where should the next forum be?" Library "Community centre" --public')
    await bot.run('/poll create "Do you feel safe downtown?" Yes Mostly No --anonymous --public')
    await bot.run('/poll create "Members only: budget split?" A B')
    for n, name in enumerate(VOTERS):
        await bot.click(f"poll:vote:1:{0 if n < 4 else 1}", as_=name)
        await bot.click(f"poll:vote:2:{n % 3}", as_=name)
        await bot.click("poll:vote:3:0", as_=name)
    for poll in (1, 2, 3):
        await bot.run(f"/poll close {poll}")
    await bot.run(f'/poll create "Which night works?" "{HOSTILE}" Tuesday')
    assert "public page" in shown(await bot.run("/poll public 4"))
    await bot.run('/broadcast send "Forum moved to the community centre" --public')
    await bot.run('/broadcast send "Coordinators: keys are with Rosalind"')
    await advance(bot, timedelta(days=2, hours=12))
    assert "Minutes saved" in shown(await bot.run('/meeting minutes 1 "Walked 2 miles; lights out on Elm St."'))
    await bot.run('/meeting minutes 2 "Secret: the patrol schedule"')
    await bot.run('/meeting action 1 "Report the lights to the city" @Rosalind --due "in 3 days"')
    return {"public": 1, "private": 2, "hostile": 3}


async def fetch(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str, Any]:
    async with http.get(url, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.copy()


async def test_the_page_shows_exactly_what_is_public_escaped_and_without_names(served) -> None:
    bot, base = served
    await publish(bot)
    page = f"{base}/c/eastside-safety-coalition/"
    async with aiohttp.ClientSession() as http:
        status, html, headers = await fetch(http, page)
    assert status == 200
    assert "Community safety walk" in html
    assert "Walked 2 miles; lights out on Elm St." in html  # minutes of a public meeting
    assert "Action items: 1 open, 0 done, 0 overdue." in html  # counts, not the owner
    assert "Forum moved to the community centre" in html
    # Nothing private: a private meeting, its minutes, a members-only poll or broadcast.
    for hidden in ("Internal planning", "patrol schedule", "Members only", "keys are with"):
        assert hidden not in html, hidden
    # No member's name or id anywhere (the voters', the owner's, the coordinator's).
    for name in [*VOTERS, "admin"]:
        assert re.search(name, html, re.IGNORECASE) is None, name
    # Results: the named poll's count, the anonymous poll's too (7 voters is above the threshold).
    assert "Where should the next forum be?" in html and "7 voters" in html
    assert "Library</span>: 4 votes, 57%" in html and "Winner: Library." in html
    assert "Do you feel safe downtown?" in html
    assert "Yes</span>: 3 votes, 43%" in html and "Mostly</span>: 2 votes, 29%" in html
    # The hostile title is text: escaped, never markup; the javascript: place is not a link.
    assert "<script>alert" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html
    # Times in the coalition's zone (Chicago), named.
    assert "Tue 24 Nov 2026, 18:00 CST" in html and "America/Chicago" in html
    # Headers: a strict policy, no sniffing, an ETag that answers 304.
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert (
        "script-src 'self'" in headers["Content-Security-Policy"] and "unsafe" not in headers["Content-Security-Policy"]
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    async with aiohttp.ClientSession() as http:
        again, _body, _ = await fetch(http, page, **{"If-None-Match": headers["ETag"]})
    assert again == 304


async def test_unknown_private_and_unpublished_all_look_the_same(served) -> None:
    bot, base = served
    ids = await publish(bot)
    site = f"{base}/c/eastside-safety-coalition"
    async with aiohttp.ClientSession() as http:
        unknown = await fetch(http, f"{base}/c/no-such-coalition/")
        private = await fetch(http, f"{site}/meetings/{ids['private']}")
        members_only = await fetch(http, f"{site}/polls/3")
        missing = await fetch(http, f"{site}/meetings/999")
        public = await fetch(http, f"{site}/meetings/{ids['public']}")
        poll = await fetch(http, f"{site}/polls/2")
        marked = await fetch(http, f"{site}/polls/4")
    assert public[0] == 200 and "Walked 2 miles" in public[1]
    assert 'Where: <span lang="en">Library steps</span>' in public[1]
    assert poll[0] == 200 and "Do you feel safe downtown?" in poll[1]
    assert (
        "Route&lt;iframe src=&#39;https://evil.example&#39;&gt;&lt;/iframe&gt;" in public[1]
        and "<iframe" not in public[1]
    )
    # Marked public after it was made; open, so its options and no count; a hostile option is text.
    assert (
        marked[0] == 200
        and "Which night works?" in marked[1]
        and "Results are shown when the poll closes." in marked[1]
    )
    assert "&lt;script&gt;alert(&#39;x&#39;)" in marked[1] and "<script>alert" not in marked[1]
    for status, body, _headers in (unknown, private, members_only, missing):
        assert status == 404 and body == unknown[1]
    assert "Internal planning" not in private[1] and "budget" not in members_only[1]
    await bot.run("/coalition page off")
    async with aiohttp.ClientSession() as http:
        off = await fetch(http, f"{site}/")
    assert off[0] == 404 and off[1] == unknown[1]
    refused = await bot.run("/coalition page on", as_="Rosalind")
    assert refused.error and "Only coordinators" in shown(refused)


async def test_an_anonymous_poll_with_too_few_voters_shows_no_count(served) -> None:
    bot, base = served
    await bot.run("/coalition page on")
    await bot.run('/poll create "Trust the police?" Yes No --anonymous --public')
    await bot.click("poll:vote:1:0", as_="Rosalind")
    await bot.click("poll:vote:1:1", as_="Tiberius")
    await bot.run("/poll close 1")
    async with aiohttp.ClientSession() as http:
        _status, html, _ = await fetch(http, f"{base}/c/eastside-safety-coalition/polls/1")
    assert "Fewer than 3 voted, so no count is shown" in html
    assert "1 vote" not in html and "50%" not in html


async def test_the_page_speaks_the_visitors_language(served) -> None:
    bot, base = served
    await publish(bot)
    async with aiohttp.ClientSession() as http:
        _status, html, headers = await fetch(
            http, f"{base}/c/eastside-safety-coalition/", **{"Accept-Language": "es-MX,es;q=0.9,en;q=0.8"}
        )
    assert '<html lang="es">' in html and "Próximas reuniones" in html and "Actas de reuniones pasadas" in html
    assert "mar, 24 nov 2026, 18:00 CST" in html
    assert headers["Vary"] == "Accept-Language"
    assert visitor_language("fr-CA,fr;q=0.9") == "en" and visitor_language("en;q=0.5, es;q=0.8") == "es"


async def test_a_visitor_switches_the_pages_language_whatever_the_browser_says(served) -> None:
    """The switch (`?lang=es`) wins over Accept-Language and stays on the page's own links; the
    switch names each language in itself, marked so a screen reader says it in that language."""
    bot, base = served
    await publish(bot)
    page = f"{base}/c/eastside-safety-coalition/"
    async with aiohttp.ClientSession() as http:
        _status, english, _headers = await fetch(http, page, **{"Accept-Language": "en-US"})
        _status, spanish, _headers = await fetch(http, page + "?lang=es", **{"Accept-Language": "en-US"})
        _status, meeting, _headers = await fetch(
            http, f"{base}/c/eastside-safety-coalition/meetings/1?lang=es", **{"Accept-Language": "en-US"}
        )
    assert '<html lang="en">' in english and 'href="?lang=es" hreflang="es" lang="es">Español</a>' in english
    assert '<html lang="es">' in spanish and "Próximas reuniones" in spanish
    assert 'lang="en">English</a>' in spanish and "/meetings/1?lang=es" in spanish
    assert '<html lang="es">' in meeting


async def test_updates_have_an_atom_feed_and_the_chart_is_served(served) -> None:
    bot, base = served
    await publish(bot)
    site = f"{base}/c/eastside-safety-coalition"
    async with aiohttp.ClientSession() as http:
        status, atom, headers = await fetch(http, f"{site}/broadcasts.atom")
        async with http.get(f"{site}/engagement.png") as chart:
            png = await chart.read()
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.findtext("{http://www.w3.org/2005/Atom}content") for e in entries] == [
        "Forum moved to the community centre"
    ]
    assert chart.status == 200 and png.startswith(b"\x89PNG")


async def test_requests_are_limited_per_client_address(served) -> None:
    bot, base = served
    await bot.run("/coalition page on")
    bot.dispatcher.app.public_page.limit = RateLimit(per_minute=1, burst=3)
    async with aiohttp.ClientSession() as http:
        statuses = [(await fetch(http, f"{base}/c/eastside-safety-coalition/"))[0] for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]


# In a real browser ---------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# axe-core 4, as the test extra ships it (axe-core-python): nothing to install by hand.
AXE = files("axe_core_python").joinpath("axe.min.js")


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Chromium and chromedriver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=420,900",  # a phone
        "--lang=en-US",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


async def test_a_visitor_in_chromium_sees_the_public_items_and_axe_finds_no_serious_violation(
    served, browser, tmp_path: Path
) -> None:
    import asyncio

    from selenium.webdriver.common.by import By

    bot, base = served
    await publish(bot)
    page = f"{base}/c/eastside-safety-coalition/"
    await asyncio.to_thread(browser.get, page)
    seen = await asyncio.to_thread(lambda: browser.find_element(By.TAG_NAME, "main").text)
    assert "Community safety walk" in seen and "Walked 2 miles; lights out on Elm St." in seen
    assert "Internal planning" not in seen and "patrol schedule" not in seen
    assert HOSTILE in seen  # shown as the text it is
    assert not await asyncio.to_thread(lambda: browser.find_elements(By.CSS_SELECTOR, "main script, main img[src=x]"))
    # The script adds the visitor's own time where their zone differs (the browser's is not Chicago's).
    zone = await asyncio.to_thread(
        lambda: browser.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")
    )
    local = await asyncio.to_thread(lambda: browser.find_elements(By.CSS_SELECTOR, "span.local"))
    assert (zone == "America/Chicago") or local, zone
    shot = Path(os.environ.get("PUBLIC_PAGE_SCREENSHOT", tmp_path / "public-page.png"))
    await asyncio.to_thread(browser.save_screenshot, str(shot))
    print(f"screenshot: {shot}")
    assert (await asyncio.to_thread(shot.read_bytes)).startswith(b"\x89PNG")
    # Following a link: the meeting's own page, with its minutes and no names.
    await asyncio.to_thread(lambda: browser.find_element(By.LINK_TEXT, "Community safety walk").click())
    meeting = await asyncio.to_thread(lambda: browser.find_element(By.TAG_NAME, "main").text)
    assert "Minutes" in meeting and "Walked 2 miles" in meeting and "Rosalind" not in meeting
    # Accessibility: axe-core, injected into the page, finds nothing serious or critical.
    for url in (page, f"{base}/c/eastside-safety-coalition/polls/2"):
        await asyncio.to_thread(browser.get, url)
        await asyncio.to_thread(browser.execute_script, AXE.read_text())
        found = await asyncio.to_thread(
            browser.execute_async_script,
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));",
        )
        serious = [v for v in found if v[1] in ("serious", "critical")]
        assert serious == [], (url, serious)


async def test_what_members_wrote_is_shown_in_the_visitors_language_and_marked_with_its_own(served) -> None:
    """Issue 32: a broadcast and a meeting written in English and Spanish show the visitor's
    version; what members wrote carries `lang`, so a screen reader switches voice where the page's
    language and the text's differ (an English-only title on the Spanish page)."""
    bot, base = served
    assert "/c/eastside-safety-coalition/" in shown(await bot.run("/coalition page on"))
    await bot.run('/broadcast send "Forum moved to Saturday" --public --es "El foro pasa al sábado"')
    await bot.run('/meeting schedule "Safety walk" "2026-11-24 18:00" --where "Library" --es "Paseo | Biblioteca"')
    await bot.run('/meeting schedule "Budget review" "2026-11-24 20:00"')  # English only
    await advance(bot, timedelta(minutes=1))
    page = f"{base}/c/eastside-safety-coalition/"
    async with aiohttp.ClientSession() as http:
        _s, english, _h = await fetch(http, page)
        _s, spanish, _h = await fetch(http, page + "?lang=es")
        _s, walk, _h = await fetch(http, page + "meetings/1?lang=es")
    assert '<p class="text" lang="en">Forum moved to Saturday</p>' in english
    assert '<p class="text" lang="es">El foro pasa al sábado</p>' in spanish and "Forum moved" not in spanish
    assert 'lang="es">Paseo</a>' in spanish and 'lang="en">Budget review</a>' in spanish
    assert '<h1 lang="es">Paseo</h1>' in walk and '<span lang="es">Biblioteca</span>' in walk


async def test_a_public_decision_shows_its_outcome_and_counts_per_sector_and_never_who(served) -> None:
    """Issue 30: `--public` decisions on the page once decided: text, outcome, rule, counts overall
    and per sector, action items as counts; no name, no reason; a decision not made public is absent."""
    bot, base = served
    assert "/c/eastside-safety-coalition/" in shown(await bot.run("/coalition page on"))
    for name, sector in (("rosalind", "resident"), ("omar", "resident"), ("ken", "law-enforcement")):
        await bot.run(f"/coalition profile --sector {sector}", as_=name)
    public = await bot.run('/decision propose "Move the youth forum to the library" --rule every-sector --public')
    assert not public.error, shown(public)
    await bot.run("/decision position 1 consent", as_="rosalind")
    await bot.run('/decision position 1 concern "Parking is short"', as_="omar")
    await bot.run("/decision position 1 consent", as_="ken")
    await bot.run("/decision close 1")
    await bot.run('/decision outcome 1 "The youth forum meets at the library"')
    await bot.run('/decision propose "Internal: rotate the chair"')
    await bot.run("/decision position 2 consent", as_="ken")
    await bot.run("/decision close 2")
    refused = await bot.run('/decision propose "Public?" --public', as_="omar")
    assert refused.error  # making it public is for coordinators
    async with aiohttp.ClientSession() as http:
        _s, page, _h = await fetch(http, f"{base}/c/eastside-safety-coalition/")
    assert "What the coalition decided" in page and "Move the youth forum to the library" in page
    assert "Passed · in every sector that takes part" in page
    assert "Decided: The youth forum meets at the library" in page
    assert "Consent 2 · Concern 1 · Object 0" in page and "resident: Consent 1 · Concern 1 · Object 0" in page
    for hidden in ("rosalind", "omar", "ken", "Parking is short", "rotate the chair"):
        assert hidden not in page, hidden
