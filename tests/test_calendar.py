"""Calendar exports that calendars read as the bot means them: every rule the bot accepts is exported
and expands, in an independent expander (recurring-ical-events), to exactly the meetings the bot will
hold, across the 2027 daylight-saving changes in New York and Berlin; cancelled and moved meetings,
UIDs and SEQUENCE as calendars need them to update in place."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import text

from adapters import build_dispatcher
from adapters.console import ConsoleAdapter, ConsoleOptions
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from storage import Database
from tests.harness import Harness, shown

BEGIN = datetime(2027, 3, 1, tzinfo=UTC)
END = BEGIN + timedelta(weeks=6)  # over 14 March (New York) and 28 March (Berlin)

FORMS = [
    "weekly",
    "2weeks",
    "monthly",
    "daily",
    "FREQ=WEEKLY;BYDAY=TU,TH",
    "FREQ=MONTHLY;BYMONTHDAY=1,15",
    "FREQ=MONTHLY;BYDAY=1MO,3MO",
    "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270331T000000Z",  # UTC, as RFC 5545 and Google write it
    "FREQ=WEEKLY;UNTIL=20270323",  # a date: to the end of that day
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270326T190000",  # local time
    "FREQ=DAILY;COUNT=5",
]


async def export(bot: Harness, meeting: int | None = None) -> Calendar:
    reply = await bot.run(f"/meeting ics {meeting}" if meeting else "/meeting ics")
    assert not reply.error, shown(reply)
    return Calendar.from_ical(reply.attachments[0].content)


def expanded(calendar: Calendar) -> list[datetime]:
    events = recurring_ical_events.of(calendar).between(BEGIN, END)
    return sorted(e.decoded("dtstart").astimezone(UTC) for e in events)


async def bot_starts(bot: Harness, meeting_id: int) -> list[datetime]:
    async with bot.dispatcher.app.unit_of_work() as services:
        meeting = await services.meetings.series(meeting_id)
        assert meeting is not None
        return services.meetings.starts_between(meeting, BEGIN, END)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
@pytest.mark.parametrize("every", FORMS)
async def test_every_rule_exports_and_expands_to_the_meetings_the_bot_holds(
    bot: Harness, zone: str, every: str
) -> None:
    clock = bot.dispatcher.app.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(BEGIN - timedelta(days=1))  # the window's eve: no months of empty days to walk first
    await bot.run(f"/coalition timezone {zone}")
    reply = await bot.run(f'/meeting schedule "Forum" "2027-03-02 19:00" --every "{every}"')
    assert not reply.error, shown(reply)
    calendar = await export(bot, 1)
    ours = await bot_starts(bot, 1)
    assert len(ours) >= 2, "the rule gives meetings in the six weeks"
    assert expanded(calendar) == ours
    local = ZoneInfo(zone)
    assert {s.astimezone(local).hour for s in ours} == {19}  # 19:00 where the meeting is, before and after DST
    # /meeting list, read week by week as the clock moves through the six weeks, lists exactly these.
    seen: set[datetime] = set()
    moment = BEGIN
    while moment < END:
        await bot.dispatcher.app.scheduler.advance_to(moment)
        listing = shown(await bot.run("/meeting list"))
        seen |= {
            datetime.strptime(t, "%d %b %Y, %H:%M").replace(tzinfo=UTC)
            for t in re.findall(r"• #1 (\d\d \w{3} \d{4}, \d\d:\d\d) UTC: Forum", listing)
        }
        moment += timedelta(days=7)
    assert sorted(s for s in seen if BEGIN <= s < END) == ours


async def test_a_cancelled_date_is_an_exdate_and_a_moved_one_an_override(bot: Harness) -> None:
    clock = bot.dispatcher.app.clock
    assert isinstance(clock, SimulatedClock)
    await bot.run("/coalition timezone America/New_York")
    await bot.run('/meeting schedule "Forum" "2026-12-01 19:00" --every "FREQ=WEEKLY;BYDAY=TU,TH"')
    assert not (await bot.run("/meeting cancel 1")).error  # the next: Tue 1 Dec
    moved = await bot.run('/meeting edit 1 --on 2026-12-03 --when "2026-12-03 20:30"')  # Thu 3 Dec, 19:00 -> 20:30
    assert not moved.error, shown(moved)
    listed = shown(await bot.run("/meeting list"))
    assert "Forum" in listed and "moved from" in listed  # cancelling one hides nothing; the moved one is marked
    calendar = await export(bot, 1)
    events = recurring_ical_events.of(calendar).between(datetime(2026, 11, 30), datetime(2026, 12, 12))
    new_york = ZoneInfo("America/New_York")
    starts = sorted(e.decoded("dtstart").astimezone(new_york).strftime("%a %d %H:%M") for e in events)
    assert starts == ["Thu 03 20:30", "Thu 10 19:00", "Tue 08 19:00"]
    overrides = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert len(overrides) == 1
    assert overrides[0].decoded("recurrence-id").astimezone(new_york).strftime("%d %H:%M") == "03 19:00"
    uids = {str(e["uid"]) for e in calendar.walk("VEVENT")}
    assert len(uids) == 1  # the override belongs to the series


async def test_one_off_meetings_export_their_moved_time_and_their_cancellation(bot: Harness) -> None:
    await bot.run('/meeting schedule "Cleanup" "2026-12-05 10:00"')
    await bot.run('/meeting edit 1 --when "2026-12-06 11:00"')
    event = next(iter((await export(bot, 1)).walk("VEVENT")))
    assert event.decoded("dtstart").astimezone(UTC) == datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    assert "STATUS" not in event
    await bot.run("/meeting cancel 1")
    event = next(iter((await export(bot, 1)).walk("VEVENT")))
    assert str(event["status"]) == "CANCELLED"


async def test_uids_are_stable_per_install_and_sequence_moves_with_every_change(bot: Harness, tmp_path: Path) -> None:
    await bot.run('/meeting schedule "Forum" "2026-12-05 10:00" --every weekly')
    first = next(iter((await export(bot, 1)).walk("VEVENT")))
    again = next(iter((await export(bot, 1)).walk("VEVENT")))
    assert str(first["uid"]) == str(again["uid"]) and str(first["uid"]).startswith("meeting-1-")
    assert first["sequence"] == again["sequence"] == 0
    await bot.run('/meeting edit 1 --where "Library"')
    edited = next(iter((await export(bot, 1)).walk("VEVENT")))
    assert edited["sequence"] == 1
    assert edited.decoded("last-modified") >= first.decoded("last-modified")

    # Another coalition's install: its meeting #1 is another event in a member's calendar.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    await db.upgrade()
    other_app = App(
        Settings(database_url=db.url, anonymity_secret="another install's secret"), db, bot.dispatcher.app.clock
    )
    other = Harness(build_dispatcher(other_app))
    await other.start()
    await other.run('/meeting schedule "Forum" "2026-12-05 10:00" --every weekly')
    theirs = next(iter((await export(other, 1)).walk("VEVENT")))
    assert str(theirs["uid"]) != str(first["uid"])
    await other_app.close()
    # Played as someone with the calendar and a copy of the database, guessing the secret: the
    # UID holds nothing computed from it (it held sha256("calendar:" + secret), a check per guess).
    secret = bot.dispatcher.app.secret
    uid = str(first["uid"])
    for derived in (hashlib.sha256(f"calendar:{secret}".encode()).hexdigest(), hmac_of(secret)):
        assert derived[:8] not in uid
    async with bot.dispatcher.app.db.engine.connect() as conn:
        (stored,) = (await conn.execute(text("SELECT calendar_id FROM coalitions"))).one()
    assert uid == f"meeting-1-{stored}@coalition-bot" and len(stored) == 16


def hmac_of(secret: str) -> str:
    import hmac

    return hmac.new(secret.encode(), b"calendar", hashlib.sha256).hexdigest()


async def test_the_time_zone_block_covers_meetings_after_2038(bot: Harness) -> None:
    await bot.run("/coalition timezone Europe/Berlin")
    await bot.run('/meeting schedule "Far" "2040-07-01 19:00"')
    calendar = await export(bot, 1)
    zone = next(iter(calendar.walk("VTIMEZONE")))
    text = zone.to_ical().decode().replace("\r\n ", "")
    transitions = re.findall(r"(?:DTSTART|RDATE)[:;][^\r\n]*", text)
    years = {int(y) for line in transitions for y in re.findall(r"(\d{4})\d{4}T", line)}
    assert max(years) > 2040  # the zone's rules are given past the meeting, not only to 2038


@pytest.mark.parametrize(
    ("every", "says"),
    [
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=DAILY;BYHOUR=9,17", "several times a day"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101T000000Z", "UNTIL or COUNT"),
        ("FREQ=WEEKLY;UNTIL=20261101T000000Z", "gives no date at all"),
        ("sometimes", "not a recurrence I understand"),
    ],
)
async def test_rules_the_bot_cannot_keep_are_refused_when_scheduling(bot: Harness, every: str, says: str) -> None:
    reply = await bot.run(f'/meeting schedule "X" "2026-12-05 10:00" --every "{every}"')
    assert reply.error and says in shown(reply)
    assert "No upcoming meetings" in shown(await bot.run("/meeting list"))


@pytest.mark.parametrize(("lead", "offsets"), [("1d,1h", [60, 1440]), ("2d,1h", [60, 2880])])
async def test_a_daily_series_reminds_before_every_meeting_once(bot: Harness, lead: str, offsets: list[int]) -> None:
    from sqlmodel import select

    from storage.models import Occurrence, Reminder
    from tests.messengers import MemoryPlatform

    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    assert not (await bot.run(f'/meeting reminders --coalition "{lead}"')).error
    await bot.run('/meeting schedule "Standup" "2026-11-24 09:00" --every daily')
    end = datetime(2026, 12, 4, tzinfo=UTC)
    await bot.dispatcher.app.scheduler.advance_to(end)
    async with bot.dispatcher.app.db.session() as session:
        starts = {o.id: o.start for o in (await session.exec(select(Occurrence))).all()}
        sent = (await session.exec(select(Reminder).where(Reminder.status == "sent"))).all()
    fired: dict[int, list[int]] = {}
    for reminder in sent:
        fired.setdefault(reminder.occurrence_id, []).append(reminder.offset_minutes)
    # Every meeting whose longer reminder falls after the scheduling (23 Nov, 09:00) and has come.
    scheduled = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    longest = timedelta(minutes=max(offsets))
    held = [i for i, s in starts.items() if s - longest > scheduled and s <= end]
    assert len(held) == (9 if longest == timedelta(days=1) else 8)  # from 25 (or 26) November to 3 December
    for occurrence in held:
        assert sorted(fired.get(occurrence, [])) == offsets, (starts[occurrence], fired.get(occurrence))
    keys = [p.key for p in platform.posted if ":remind:" in p.key]
    assert len(keys) == len(set(keys))  # none twice


# The calendar feed, over real HTTP ------------------------------------------------------------------


@pytest.fixture
async def served(db: Database, clock: SimulatedClock) -> AsyncIterator[tuple[Harness, str]]:
    """A console coalition whose HTTP server listens on a free port, as with HTTP_PORT set."""
    app = App(Settings(database_url=db.url, http_port=0), db, clock)
    bot = Harness(build_dispatcher(app))
    await bot.start()
    port = await app.serve_http()
    yield bot, f"http://127.0.0.1:{port}"
    await app.close()


def address(reply_text: str) -> str:
    found = re.search(r"https?://\S+\.ics", reply_text)
    assert found, reply_text
    return found.group(0)


async def test_a_members_feed_is_served_with_their_answers_and_answers_304_when_unchanged(served) -> None:
    bot, base = served
    await bot.run('/meeting schedule "Forum" "2026-12-01 19:00" --every weekly')
    reply = shown(await bot.run("/meeting feed", as_="maria"))
    url = address(reply)
    assert url.startswith(f"{base}/calendar/m") and "webcal://127.0.0.1:" in reply
    assert "every few hours" in reply
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200 and response.content_type == "text/calendar"
            etag, body = response.headers["ETag"], await response.read()
        async with http.get(url, headers={"If-None-Match": etag}) as unchanged:
            assert unchanged.status == 304
        await bot.run("/meeting rsvp 1 going", as_="maria")
        async with http.get(url, headers={"If-None-Match": etag}) as changed:
            assert changed.status == 200 and changed.headers["ETag"] != etag
            calendar = Calendar.from_ical(await changed.read())
    answered = [e for e in calendar.walk("VEVENT") if "Your answer: Going" in str(e.get("description", ""))]
    assert len(answered) == 1 and "RECURRENCE-ID" in answered[0]
    assert Calendar.from_ical(body)  # the first answer was a calendar too


async def test_reset_off_and_forget_me_revoke_a_feed_and_others_see_a_plain_404(served) -> None:
    bot, _ = served
    await bot.run('/meeting schedule "Forum" "2026-12-01 19:00"')
    first = address(shown(await bot.run("/meeting feed", as_="maria")))
    second = address(shown(await bot.run("/meeting feed reset", as_="maria")))
    assert first != second
    jamal = address(shown(await bot.run("/meeting feed", as_="jamal")))
    async with aiohttp.ClientSession() as http:
        statuses = [(await http.get(u)).status for u in (first, second, jamal)]
        assert statuses == [404, 200, 200]
        guessed = second.replace(second[-10:-4], "000000")
        assert (await http.get(guessed)).status == 404
        await bot.run("/meeting feed off", as_="jamal")
        assert (await http.get(jamal)).status == 404
        asked = await bot.run("/coalition forget-me", as_="maria")
        assert not (await bot.click(asked.buttons[0].action_id, as_="maria")).error  # "Yes, erase my data"
        assert (await http.get(second)).status == 404


async def test_coordinators_publish_a_public_feed_without_anyones_answers(served) -> None:
    bot, _ = served
    await bot.run('/meeting schedule "Forum" "2026-12-01 19:00"')
    refused = await bot.run("/meeting feed --public", as_="maria")
    assert refused.error and "coordinators" in shown(refused).lower()
    public = address(shown(await bot.run("/meeting feed --public")))
    assert "/calendar/c" in public
    await bot.run("/meeting rsvp 1 going", as_="maria")
    async with aiohttp.ClientSession() as http:
        body = await (await http.get(public)).read()
        assert b"Forum" in body and b"Your answer" not in body
        await bot.run("/meeting feed off --public")
        assert (await http.get(public)).status == 404
        again = address(shown(await bot.run("/meeting feed --public")))
        assert again != public and (await http.get(again)).status == 200


async def test_without_a_web_server_the_feed_says_what_to_set(bot: Harness) -> None:
    reply = await bot.run("/meeting feed")
    assert reply.error and "HTTP_PORT" in shown(reply) and "PUBLIC_BASE_URL" in shown(reply)


@pytest.mark.parametrize(
    ("zone", "now", "first", "moved"),
    [
        ("America/New_York", datetime(2027, 3, 8, 12, 0, tzinfo=UTC), "2027-03-09", "2027-03-16"),  # over 14 March
        ("Europe/Berlin", datetime(2027, 3, 20, 12, 0, tzinfo=UTC), "2027-03-23", "2027-03-30"),  # over 28 March
    ],
)
async def test_a_console_session_list_export_and_feed_agree_across_the_dst_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str, now: datetime, first: str, moved: str
) -> None:
    """Issue 15's acceptance: a Tuesday/Thursday series until a date in UTC, one date cancelled and
    one moved; `/meeting list`, the exported file and the feed fetched over HTTP show the same meetings."""
    monkeypatch.chdir(tmp_path)  # the console saves files it is sent under ./exports
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'console.db'}")
    await db.upgrade()
    app = App(Settings(database_url=db.url, http_port=0), db, SimulatedClock(now))
    out = io.StringIO()
    console = ConsoleAdapter(
        build_dispatcher(app), ConsoleOptions(json=True, interactive=False), stdin=io.StringIO(), stdout=out
    )
    app.add_messenger(console)
    await console.start()
    await app.serve_http()
    script = [
        f"/coalition timezone {zone}",
        f'/meeting schedule "Forum" "{first} 19:00" --every "FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270415T000000Z"',
        "/meeting cancel 1",
        f'/meeting edit 1 --on {moved} --when "{moved} 20:30"',
        "/meeting list",
        "/meeting ics 1",
        "/meeting feed",
    ]
    for line in script:
        await console.handle_line(line)
    messages = [json.loads(m) for m in out.getvalue().splitlines() if m.strip()]
    mine = [m for m in messages if m.get("type") == "message" and m.get("private")]
    assert not any(m["error"] for m in mine), [m["text"] for m in mine if m["error"]]
    local = ZoneInfo(zone)
    listing = next(m["text"] for m in mine if m["text"].startswith("Upcoming meetings"))
    listed = sorted(
        datetime.strptime(t, "%d %b %Y, %H:%M").replace(tzinfo=local).astimezone(UTC)
        for t in re.findall(r"• #1 (\d\d \w{3} \d{4}, \d\d:\d\d) \w+: Forum", listing)
    )
    assert len(listed) == 3  # four in the 15 days ahead, one cancelled
    assert sum(s.astimezone(local).hour == 20 for s in listed) == 1  # the moved one, marked
    assert "moved from" in listing
    window = (now, listed[-1] + timedelta(minutes=1))
    file = next(m for m in mine if m.get("attachments"))["attachments"][0]
    exported = Calendar.from_ical(await asyncio.to_thread(Path(file).read_bytes))
    url = re.search(r"http://\S+\.ics", next(m["text"] for m in mine if "calendar feed" in m["text"]))
    assert url is not None
    async with aiohttp.ClientSession() as http, http.get(url.group(0)) as response:
        fed = Calendar.from_ical(await response.read())
    for calendar in (exported, fed):
        events = recurring_ical_events.of(calendar).between(*window)
        assert sorted(e.decoded("dtstart").astimezone(UTC) for e in events) == listed
    await app.close()
