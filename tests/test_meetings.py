"""Meetings: scheduling, recurrence across DST, RSVPs, reminders once and in the right places,
cancelling, restarts and the grace window, and .ics export parsed back."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.app import App
from bot.clock import SimulatedClock
from bot.recurrence import describe as describe_rule
from bot.replies import Section
from bot.services.meetings import recurrence_rule
from storage import Database
from storage.models import Occurrence, Reminder
from tests.conftest import START
from tests.harness import Harness, shown
from tests.messengers import MemoryPlatform


@pytest.fixture
async def town(bot: Harness) -> tuple[Harness, MemoryPlatform]:
    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    for name in ("maria", "jamal", "lee"):
        await bot.run("/coalition whoami", as_=name)
    return bot, platform


async def advance(bot: Harness, by: timedelta) -> None:
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + by)


async def test_weekly_meeting_reminders_once_in_the_right_places(town) -> None:
    bot, platform = town
    reply = await bot.run('/meeting schedule "Safety walk" "tuesday 7pm" --every weekly --where "Library"')
    assert "Scheduled Safety walk (#1) for Tuesday 24 November 2026 at 19:00 UTC, repeating every week" in shown(reply)
    await bot.run("/meeting rsvp 1 going", as_="maria")
    await bot.click("meeting:rsvp:1:maybe", as_="jamal")
    await bot.click("meeting:rsvp:1:no", as_="lee")
    await advance(bot, timedelta(days=1, hours=12))  # past the 24 h and 1 h reminders of Tue 19:00
    keys = [p.key for p in platform.posted if ":remind:" in p.key]
    assert Counter(keys) == Counter(dict.fromkeys(keys, 1)), "a reminder went twice"
    targets = Counter(p.target for p in platform.posted if ":remind:" in p.key)
    assert targets == {"general": 2, "dm:maria": 2, "dm:jamal": 2}  # not lee (can't go), not admin (no answer)
    card = next(p for p in platform.posted if p.key == "meeting:1:announce:1")
    final = card.edits[-1] if card.edits else card.reply
    assert "Going 1 (maria) · Maybe 1 (jamal) · Can't go 1 (lee)" in shown(final)
    assert any(p.key == "meeting:2:announce:1" for p in platform.posted)  # the next week's, made lazily


async def test_cancelling_one_occurrence_withdraws_only_its_reminders(town) -> None:
    bot, platform = town
    await bot.run('/meeting schedule "Coalition meeting" "tuesday 7pm" --every weekly')
    await bot.run("/meeting rsvp 1 going", as_="maria")
    await advance(bot, timedelta(days=2))
    refused = await bot.run("/meeting cancel 1 --on 2026-12-01", as_="maria")
    assert refused.error and "Only the member who created it or a coordinator can cancel" in shown(refused)
    assert "Cancelled Coalition meeting: #1 on Tue 01 Dec 2026" in shown(
        await bot.run('/meeting cancel 1 --on "dec 1"')
    )
    assert "Coalition meeting" in shown(await bot.run("/meeting list"))  # the series goes on
    late_rsvp = await bot.run("/meeting rsvp 1 going --on 2026-12-01", as_="maria")
    assert late_rsvp.error and "was cancelled" in shown(late_rsvp)
    await advance(bot, timedelta(days=14))
    occurrences = {p.key.split(":")[1] for p in platform.posted if ":remind:" in p.key}
    assert occurrences == {"1", "3"}  # #2's reminders never fired; #3 (the week after) got its own


async def test_a_restart_between_scheduling_and_the_reminder(db: Database, clock: SimulatedClock, town) -> None:
    bot, _ = town
    await bot.run('/meeting schedule "Budget review" "in 3 days at 18:00"')
    await bot.run("/meeting rsvp 1 going", as_="maria")
    other_db = Database(db.url)  # a new process, its own engine
    restarted = App(bot.dispatcher.app.settings, other_db, clock)
    platform = MemoryPlatform()
    restarted.add_messenger(platform)
    try:
        await restarted.scheduler.advance_to(clock.now() + timedelta(days=4))
        assert Counter(p.target for p in platform.posted if ":remind:" in p.key) == {"general": 2, "dm:maria": 2}
    finally:
        await other_db.dispose()


async def test_reminders_late_beyond_the_grace_window_are_missed_not_sent(town, clock: SimulatedClock) -> None:
    bot, platform = town
    await bot.run('/meeting schedule "Forum" "in 2 days"')
    clock.set(clock.now() + timedelta(days=1, hours=4))  # the bot was down when the 24 h reminder was due
    await bot.dispatcher.app.scheduler.run_due()
    async with bot.dispatcher.app.db.session() as session:
        statuses = [r.status for r in (await session.exec(select(Reminder).order_by(Reminder.due_at))).all()]
    assert statuses == ["missed", "pending"]
    assert not any(":remind:" in p.key for p in platform.posted)


async def test_weekly_series_keeps_local_time_across_dst(town) -> None:
    bot, _ = town
    await bot.run("/coalition timezone Europe/Berlin")
    await bot.run('/meeting schedule "Evening forum" "2027-03-23 19:00" --every weekly')
    await bot.dispatcher.app.scheduler.advance_to(datetime(2027, 4, 1, tzinfo=UTC))
    async with bot.dispatcher.app.db.session() as session:
        starts = [o.start for o in (await session.exec(select(Occurrence).order_by(Occurrence.start))).all()]
    berlin = ZoneInfo("Europe/Berlin")
    assert len(starts) >= 3 and {s.astimezone(berlin).hour for s in starts} == {19}
    assert [s.hour for s in starts[:2]] == [18, 17]  # 19:00 CET, then 19:00 CEST (Europe moved on 28 March)


async def test_ics_has_recurrence_exceptions_and_zone(town) -> None:
    bot, _ = town
    await bot.run("/coalition timezone America/Chicago")
    await bot.run('/meeting schedule "Walk" "tuesday 7pm" --every weekly --where "Park" --agenda "Route, volunteers"')
    await advance(bot, timedelta(days=2))
    await bot.run("/meeting cancel 1")  # the next one: the Tuesday after
    reply = await bot.run("/meeting ics 1")
    calendar = Calendar.from_ical(reply.attachments[0].content)
    event = next(c for c in calendar.walk("VEVENT"))
    assert str(event["summary"]) == "Walk" and str(event["location"]) == "Park"
    assert event["rrule"]["FREQ"] == ["WEEKLY"]
    start = event.decoded("dtstart")
    assert start.tzinfo is not None and str(start.tzinfo) == "America/Chicago" and start.hour == 19
    exdates = (
        [d.dt for d in event["exdate"].dts]
        if not isinstance(event["exdate"], list)
        else [d.dt for e in event["exdate"] for d in e.dts]
    )
    assert exdates == [start + timedelta(weeks=1)]
    assert [c.name for c in calendar.walk("VTIMEZONE")] == ["VTIMEZONE"]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ('/meeting schedule "X" "yesterday 7pm"', "in the past"),
        ('/meeting schedule "X" "tuesday 7pm" --duration 0m', "more than 0 minutes"),
        ('/meeting schedule "X" "tuesday 7pm" --duration 25h', "at most 24 hours"),
        ('/meeting schedule "X" "tuesday 7pm" --every fortnightly-ish', "not a recurrence I understand"),
        ('/meeting schedule "X" "tuesday 7pm" --every FREQ=HOURLY', "at most daily"),
        ('/meeting schedule "" "tuesday 7pm"', "TITLE"),
        ("/meeting rsvp 99 going", "There is no meeting #99"),
        ("/meeting rsvp 1 perhaps", "not one of: going, maybe, no"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(town, command: str, says: str) -> None:
    bot, platform = town
    if "rsvp 1" in command:
        await bot.run('/meeting schedule "Y" "tuesday 7pm"')
    reply = await bot.run(command, as_="maria")
    assert reply.error and says in shown(reply), shown(reply)
    await bot.dispatcher.app.scheduler.run_due()
    announced = [p for p in platform.posted if "announce:" in p.key]
    assert len(announced) == (1 if "rsvp 1" in command else 0)


def test_monthly_means_the_same_weekday() -> None:
    assert recurrence_rule("monthly", datetime(2026, 12, 8, 19)) == "FREQ=MONTHLY;BYDAY=2TU"
    assert recurrence_rule("monthly", datetime(2026, 12, 29, 19)) == "FREQ=MONTHLY;BYDAY=-1TU"
    assert recurrence_rule("2weeks", datetime(2026, 12, 8, 19)) == "FREQ=WEEKLY;INTERVAL=2"


async def test_list_and_show(town) -> None:
    bot, _ = town
    assert "No upcoming meetings" in shown(await bot.run("/meeting list", as_="maria"))
    await bot.run('/meeting schedule "Walk" "tuesday 7pm"')
    await bot.run("/meeting rsvp 1 going", as_="maria")
    assert "#1 24 Nov 2026, 19:00 UTC: Walk (Going 1 · Maybe 0 · Can't go 0)" in shown(
        await bot.run("/meeting list", as_="lee")
    )
    card = await bot.run("/meeting show 1", as_="lee")
    assert [b.label for b in card.buttons] == ["Going", "Maybe", "Can't go"]


async def test_a_burst_of_rsvps_ends_in_each_members_last_answer(town) -> None:
    """Clicks arriving together are written together: a member who changes their mind within the
    burst, or whose click arrives twice, still has one answer, the last one."""
    bot, platform = town
    await bot.run('/meeting schedule "Forum" "tuesday 7pm"')
    for n in range(12):
        await bot.run("/coalition whoami", as_=f"m{n}")
    clicks = [("meeting:rsvp:1:going", f"m{n}") for n in range(12)]
    clicks += [("meeting:rsvp:1:no", "m0"), ("meeting:rsvp:1:maybe", "m1"), ("meeting:rsvp:1:maybe", "m1")]
    clicks += [("meeting:rsvp:1:going", "maria"), ("meeting:rsvp:1:nonsense", "jamal")]
    replies = await asyncio.gather(*(bot.click(action, as_=who) for action, who in clicks))
    assert [r.error for r in replies] == [False] * (len(clicks) - 1) + [True]
    assert "#1 24 Nov 2026, 19:00 UTC: Forum (Going 11 · Maybe 1 · Can't go 1)" in shown(await bot.run("/meeting list"))
    await advance(bot, timedelta(seconds=5))
    card = next(p for p in platform.posted if p.key == "meeting:1:announce:1")
    final = shown(card.edits[-1] if card.edits else card.reply)
    assert "Maybe 1 (m1)" in final and "Can't go 1 (m0)" in final, final


async def test_rsvp_after_the_meeting_is_refused(town, clock: SimulatedClock) -> None:
    bot, _ = town
    await bot.run('/meeting schedule "Walk" "in 2 hours"')
    clock.set(START + timedelta(hours=4))
    reply = await bot.run("/meeting rsvp 1 going", as_="maria")
    assert reply.error and "is over" in shown(reply)


async def test_moving_one_occurrence_moves_its_reminders_and_tells_attendees(town) -> None:
    bot, platform = town
    await bot.run('/meeting schedule "Walk" "tuesday 7pm" --every weekly')
    await bot.run("/meeting rsvp 1 going", as_="maria")
    refused = await bot.run('/meeting edit 1 --when "wednesday 6pm"', as_="lee")
    assert refused.error and "Only the member who created it or a coordinator" in shown(refused)
    moved = await bot.run('/meeting edit 1 --when "wednesday 6pm"')
    assert "now Wednesday 25 November 2026 at 18:00 UTC" in shown(moved)
    await advance(bot, timedelta(days=3))
    told = [p for p in platform.posted if ":moved:" in p.key]
    assert [p.target for p in told] == ["dm:maria"] and "has moved from" in shown(told[0].reply)
    reminders = [p for p in platform.posted if ":remind:" in p.key and p.target == "general"]
    assert len(reminders) == 2 and all("Wed 25 Nov 2026, 18:00" in shown(p.reply) for p in reminders)
    async with bot.dispatcher.app.db.session() as session:
        statuses = Counter(
            r.status for r in (await session.exec(select(Reminder).where(Reminder.occurrence_id == 1))).all()
        )
    assert statuses == {"cancelled": 2, "sent": 2}  # the old times were withdrawn, the new ones sent
    # The series itself keeps its Tuesday slot: the next occurrence is Tue 1 Dec 19:00.
    async with bot.dispatcher.app.db.session() as session:
        second = (await session.exec(select(Occurrence).where(Occurrence.id == 2))).one()
    assert second.start == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


async def test_moving_the_series_moves_later_meetings(town) -> None:
    bot, _ = town
    await bot.run('/meeting schedule "Walk" "tuesday 7pm" --every weekly')
    await bot.run('/meeting edit 1 --when "thursday 6pm" --series')
    await advance(bot, timedelta(days=4))
    async with bot.dispatcher.app.db.session() as session:
        starts = [o.start for o in (await session.exec(select(Occurrence).order_by(Occurrence.start))).all()]
    assert starts[:2] == [datetime(2026, 11, 26, 18, 0, tzinfo=UTC), datetime(2026, 12, 3, 18, 0, tzinfo=UTC)]
    assert {(s.weekday(), s.hour) for s in starts} == {(3, 18)}  # every later one on Thursday at 18:00


async def test_title_place_agenda_minutes_and_attendance(town) -> None:
    bot, _ = town
    await bot.run('/meeting schedule "Walk" "in 2 hours"', as_="maria")
    assert "Changed Walk (#1): place" in shown(await bot.run('/meeting edit 1 --where "Park gate"', as_="maria"))
    assert "it has 1 item" in shown(await bot.run('/meeting agenda 1 add "Route"', as_="jamal"))
    assert "it has 2 items" in shown(await bot.run('/meeting agenda 1 add "Volunteers"', as_="jamal"))
    assert "1. Route\n2. Volunteers" in shown(await bot.run("/meeting agenda 1", as_="lee"))
    bad = await bot.run('/meeting agenda 1 remove "Route"', as_="lee")
    assert bad.error and "not one of: add, show" in shown(bad)
    await bot.run("/meeting rsvp 1 going", as_="jamal")
    await bot.run("/meeting rsvp 1 going", as_="lee")
    early = await bot.run("/meeting attended 1")
    assert early.error and "has not happened yet" in shown(early)
    await advance(bot, timedelta(hours=3))
    assert "recorded from the Going answers: jamal, lee" in shown(await bot.run("/meeting attended 1"))
    assert "recorded as you listed: maria" in shown(await bot.run("/meeting attended 1 @maria"))
    assert "Minutes saved" in shown(
        await bot.run('/meeting minutes 1 "https://docs.example.org/walk-notes"', as_="maria")
    )
    card = shown(await bot.run("/meeting show 1", as_="lee"))
    assert "Where: Park gate" in card and "Minutes: https://docs.example.org/walk-notes" in card
    refused = await bot.run('/meeting minutes 1 "mine"', as_="lee")
    assert refused.error


async def test_action_items_are_reminded_listed_and_done(town) -> None:
    bot, platform = town
    await bot.run('/meeting schedule "Walk" "in 2 hours"')
    made = await bot.run('/meeting action 1 "Ask the city about lighting" @maria --due "in 3 days"', as_="jamal")
    assert "Action #1 for maria" in shown(made)
    await bot.run('/meeting action 1 "Book the hall" @lee --due "in 30 hours"')
    unknown = await bot.run('/meeting action 1 "x" @nobody --due "in 3 days"')
    assert unknown.error and "has not used the bot yet" in shown(unknown)
    assert "#1 Ask the city about lighting: maria" in shown(await bot.run("/meeting actions", as_="maria"))
    assert "Book the hall" not in shown(await bot.run("/meeting actions", as_="maria"))
    assert "Book the hall" in shown(await bot.run("/meeting actions open", as_="maria"))
    refused = await bot.run("/meeting done 2", as_="maria")
    assert refused.error and "owner or a coordinator" in shown(refused)
    assert "Its reminders are withdrawn" in shown(await bot.run("/meeting done 2", as_="lee"))
    await advance(bot, timedelta(days=4))
    reminded = [p for p in platform.posted if p.key.startswith("action:")]
    assert sorted(p.key for p in reminded) == ["action:1:remind:3600", "action:1:remind:86400"]
    assert all(p.target == "dm:maria" for p in reminded)
    overdue = shown(await bot.run("/meeting actions overdue", as_="lee"))
    assert "#1 Ask the city about lighting" in overdue and "overdue" in overdue
    assert "already done" in shown(await bot.run("/meeting done 2", as_="lee"))


async def test_lead_times_opt_out_and_nudges(town) -> None:
    bot, platform = town
    await bot.run("/coalition whoami", as_="watcher")
    await bot.run("/coalition role @watcher observer")
    refused = await bot.run("/meeting reminders --coalition 48h", as_="maria")
    assert refused.error and "Only coordinators" in shown(refused)
    bad = await bot.run("/meeting reminders --mine 1s")
    assert bad.error and "between 5 minutes and 14 days" in shown(bad)
    settings = shown(await bot.run("/meeting reminders --coalition 48h,1h --nudge 72h"))
    assert "for the coalition: 2 days, 1 hour before" in settings and "not answered: 3 days before" in settings
    assert "Yours: 2 hours." in shown(await bot.run("/meeting reminders --mine 2h", as_="maria"))
    assert "Yours: off." in shown(await bot.run("/meeting reminders --mine off", as_="jamal"))
    reply = await bot.run('/meeting schedule "Forum" "in 5 days at 18:00"')
    assert "Reminders: 2 days, 1 hour before" in shown(reply)
    for who in ("maria", "jamal", "lee"):
        await bot.run("/meeting rsvp 1 going", as_=who)
    await advance(bot, timedelta(days=3))  # past the 72 h nudge (25 Nov 18:00): all but admin have answered
    nudged = sorted(p.target for p in platform.posted if ":nudge:" in p.key)
    assert nudged == ["dm:admin"]  # not those who answered, not the observer
    [ask] = [p.reply for p in platform.posted if ":nudge:" in p.key]
    first = ask.blocks[0]
    assert isinstance(first, Section) and "Will you come" in first.text  # in the blocks, not only the fallback
    await advance(bot, timedelta(days=4))
    got = Counter(p.target for p in platform.posted if ":remind:" in p.key)
    assert got == {"general": 2, "dm:lee": 2, "dm:maria": 1}  # jamal opted out; maria only at her 2 h
    async with bot.dispatcher.app.db.session() as session:
        own = (await session.exec(select(Reminder).where(Reminder.member_id.is_not(None)))).all()  # type: ignore[union-attr]
    assert [(r.offset_minutes, r.status) for r in own] == [(120, "sent")]


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY", "every week"),
        ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
        ("FREQ=MONTHLY;BYDAY=2TU", "every month on the second Tuesday"),
        ("FREQ=MONTHLY;BYDAY=-1TU", "every month on the last Tuesday"),
        ("FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270331T000000Z", "every week on Tuesday and Thursday, until 31 Mar 2027"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "every month on the 1st and 15th"),
        ("FREQ=MONTHLY;BYDAY=1MO,3MO", "every month on the first Monday and the third Monday"),
        ("FREQ=DAILY;COUNT=10", "every day, 10 times"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1", "every month on the last day"),
    ],
)
def test_recurrences_are_said_in_words(rule: str, words: str) -> None:
    assert describe_rule(rule) == words


async def test_announcements_say_the_rule_in_words(bot: Harness) -> None:
    reply = await bot.run('/meeting schedule "Forum" "2026-12-08 19:00" --every monthly')
    assert "repeating every month on the second Tuesday" in shown(reply), shown(reply)
    assert "2TU" not in shown(reply)


async def test_members_cancel_their_own_meetings(bot: Harness) -> None:
    await bot.run("/coalition whoami", as_="maria")
    await bot.run('/meeting schedule "Tenant check-in" "tuesday 6pm"', as_="maria")
    await bot.run('/meeting schedule "Budget review" "wednesday 6pm"')
    done = await bot.run("/meeting cancel 1", as_="maria")
    assert not done.error and "Cancelled Tenant check-in" in shown(done), shown(done)
    refused = await bot.run("/meeting cancel 2", as_="maria")
    assert refused.error and "Only the member who created it or a coordinator" in shown(refused)
