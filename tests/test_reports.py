"""Stakeholder map, engagement reports with charts, surveys and the weekly digest (issue 9)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import text

from bot.due import EngagementKeeper
from bot.markup import strip_markers
from bot.services.reports import ReportService
from storage import Database
from storage.engagement import unpack_ids
from tests.harness import Harness, shown, two_processes_catch_up
from tests.messengers import MemoryPlatform


@pytest.fixture
async def town(bot: Harness) -> tuple[Harness, MemoryPlatform]:
    """admin (law-enforcement), maria and jamal (resident), lee (youth); an observer who is not counted."""
    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run('/coalition profile --organisation "City Police" --sector law-enforcement')
    await bot.run('/coalition profile --organisation "Eastside Tenants" --sector resident', as_="maria")
    await bot.run('/coalition profile --organisation "Eastside Tenants" --sector resident', as_="jamal")
    await bot.run('/coalition profile --organisation "Youth Council" --sector youth', as_="lee")
    await bot.run("/coalition whoami", as_="viewer")
    await bot.run("/coalition role @viewer observer")
    return bot, platform


async def advance(bot: Harness, by: timedelta) -> None:
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + by)


# Profiles and the map ----------------------------------------------------------------------


async def test_map_names_sectors_organisations_and_what_is_missing(town) -> None:
    bot, _ = town
    reply = shown(await bot.run("/coalition map", as_="maria"))
    assert "5 members (5 on console)" in reply
    assert "• law-enforcement: 1 (1 console): City Police" in reply
    assert "• resident: 2 (2 console): Eastside Tenants (2)" in reply
    assert "• youth: 1 (1 console): Youth Council" in reply
    assert "no sector given: 1" in reply  # the observer
    assert "Missing: local-government, nonprofit, business, school, faith" in reply
    assert "Thin: law-enforcement, youth" in reply
    await bot.run("/coalition sectors --wanted resident,youth,school")
    again = shown(await bot.run("/coalition map", as_="maria"))
    assert "Missing: school" in again and "Thin: youth" in again


async def test_profiles_refuse_unknown_sectors_and_only_coordinators_set_others(town) -> None:
    bot, _ = town
    unknown = await bot.run("/coalition profile --sector teachers", as_="maria")
    assert unknown.error and "'teachers' is not one of this coalition's sectors" in shown(unknown)
    refused = await bot.run("/coalition profile @jamal --sector youth", as_="maria")
    assert refused.error
    other = await bot.run("/coalition profile --member @jamal --sector youth", as_="maria")
    assert other.error and "Only coordinators" in shown(other)
    done = await bot.run("/coalition profile --member @jamal --sector youth")
    assert "Profile of jamal: organisation Eastside Tenants, sector youth" in shown(done)
    audit = shown(await bot.run("/coalition audit"))
    assert "profile of jamal" in audit


async def test_sector_lists_are_configurable_and_cannot_orphan_members(town) -> None:
    bot, _ = town
    dropped = await bot.run("/coalition sectors --set resident,youth,school")
    assert dropped.error and "Members have the sector law-enforcement" in shown(dropped)
    ok = await bot.run("/coalition sectors --set law-enforcement,resident,youth,school,clergy --wanted school,clergy")
    assert "Sectors members choose from: law-enforcement, resident, youth, school, clergy." in shown(ok)
    assert "Missing: school, clergy" in shown(await bot.run("/coalition map"))
    bad = await bot.run("/coalition sectors --wanted astronauts")
    assert bad.error and "'astronauts' is not one of the sectors" in shown(bad)


# The engagement report ---------------------------------------------------------------------


async def _activity(bot: Harness) -> None:
    """Two meetings, a named and an anonymous poll, a broadcast: figures worked out by hand below."""
    await bot.run('/meeting schedule "Safety walk" "in 1 hour"')
    await bot.run('/meeting schedule "Budget review" "in 1 day"')
    await bot.run("/meeting rsvp 1 going", as_="maria")
    await bot.run("/meeting rsvp 1 maybe", as_="jamal")
    await bot.run("/meeting rsvp 2 no", as_="maria")
    await bot.run('/poll create "Venue?" Library Online')
    await bot.run('/poll create "Trust?" High Low --anonymous')
    for name in ("maria", "jamal"):
        await bot.run("/poll vote 1 1", as_=name)
    for name in ("maria", "lee", "admin", "jamal"):
        await bot.run("/poll vote 2 2", as_=name)
    await bot.run('/broadcast send "Road closure on Main St"')
    await bot.click("broadcast:ack:1", as_="maria")
    await bot.click("broadcast:ack:1", as_="lee")
    await advance(bot, timedelta(hours=2))
    await bot.run("/meeting attended 1 @maria @lee")
    await advance(bot, timedelta(days=1))
    await bot.run("/meeting attended 2 @maria")
    await bot.run('/decision propose "Walk on Fridays"')
    for name in ("maria", "jamal", "lee"):
        await bot.run("/decision position 1 consent", as_=name)
    await bot.run("/decision close 1")
    await bot.run('/decision propose "Trust the new chief" --anonymous')
    for name in ("maria", "admin"):
        await bot.run("/decision position 2 consent", as_=name)
    await bot.run("/decision close 2")  # two positions: too few to show, so counted nowhere
    await advance(bot, timedelta(days=1))


async def test_report_figures_match_a_hand_count(town) -> None:
    """Members: 4 (the observer is not counted). Meetings held: 2. Attendance 3 of 2x4 = 38%;
    RSVPs 3 of 8 = 38%; ballots 6 of 2 polls x 4 = 75%; acknowledgements 2 of 4 = 50%; active:
    maria, jamal, lee = 3 of 4 (admin only voted anonymously, which leaves no trace) = 75%.
    Decisions: 2 made; positions 3 of 1 proposal x 4 = 75% (the anonymous one had too few to show).
    Residents (2): attendance 2 of 4 = 50%, RSVPs 3 of 4 = 75%, named poll 2 of 2 = 100%, decision
    2 of 2 = 100%, acks 1 of 2 = 50%, active 100%. Youth (1): attendance 1 of 2 = 50%, acks 100%,
    named poll 0%, decision 1 of 1 = 100%."""
    bot, _ = town
    await _activity(bot)
    await bot.run("/poll close 2")  # an anonymous poll's ballots count in reports once it has closed
    reply = await bot.run("/coalition report --since 30d --csv", as_="maria")
    text = shown(reply)
    assert "Members: 4 · meetings held: 2 (+2) · active members: 3 of 4 · decisions made: 2 (+2)" in text
    assert (
        "Attendance rate 38% · RSVP rate 38% · Poll participation 75% · Decision participation 75% · "
        "Acknowledgement rate 50% · Active members 75%"
    ) in text
    assert (
        "• resident (2): Attendance rate 50% · RSVP rate 75% · Poll participation 100% · "
        "Decision participation 100% · Acknowledgement rate 50% · Active members 100%"
    ) in text
    assert (
        "• youth (1): Attendance rate 50% · RSVP rate 0% · Poll participation 0% · Decision participation 100% · "
        "Acknowledgement rate 100% · Active members 100%"
    ) in text
    assert "• law-enforcement (1): Attendance rate 0%" in text and "Decision participation 0%" in text
    png, table = reply.attachments
    # The chart's alt text says what it shows, for a screen reader (Slack alt_txt, Discord description).
    assert png.description.startswith("Chart of the engagement report for ")
    assert "Attendance rate 38%" in png.description and "Active members 75%" in png.description
    assert png.mime_type == "image/png" and table.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(table.content.decode())))
    assert len({len(row) for row in rows}) == 1  # rectangular: one header row, one kind of row
    records = list(csv.DictReader(io.StringIO(table.content.decode())))
    picked = {(r["scope"], r["metric"]): r for r in records}
    overall = picked["all members", "Attendance rate"]
    assert (overall["members"], overall["meetings held"], overall["this period (%)"]) == ("4", "2", "37.5")
    assert overall["previous period (%)"] == "" and overall["meetings held before"] == "0"
    assert picked["resident", "RSVP rate"]["this period (%)"] == "75.0"
    for record in records:  # every percentage column holds a percentage, never a count
        for column in ("this period (%)", "previous period (%)"):
            assert record[column] == "" or 0 <= float(record[column]) <= 100
    image = Image.open(io.BytesIO(png.content)).convert("RGB")
    assert image.size == (900, 550)
    colours = {colour: count for count, colour in image.getcolors(maxcolors=1_000_000) or []}
    assert colours.get((0x2C, 0x5F, 0x2D), 0) > 5_000  # this period's six bars, not just the legend


async def test_report_compares_with_the_period_before(town) -> None:
    bot, _ = town
    await _activity(bot)
    await advance(bot, timedelta(days=30))
    await bot.run('/meeting schedule "Forum" "in 1 hour"')
    await advance(bot, timedelta(hours=2))
    await bot.run("/meeting attended 3 @maria @jamal @lee @admin")
    text = shown(await bot.run("/coalition report --since 30d"))
    assert "meetings held: 1 (-1)" in text
    assert "Attendance rate 100% (+62 pts)" in text


async def test_an_empty_period_is_said_plainly(bot: Harness) -> None:
    reply = await bot.run("/coalition report --since 30d")
    assert not reply.error and not reply.attachments
    assert "Nothing to report for the last 30d: no meetings were held, no polls asked" in shown(reply)
    bad = await bot.run("/coalition report --since 800d")
    assert bad.error and "at most 730 days" in shown(bad)


# Surveys -----------------------------------------------------------------------------------


async def test_survey_rounds_compare_and_sectors_need_five_respondents(town) -> None:
    bot, _ = town
    for n in range(6):
        await bot.run("/coalition profile --sector resident", as_=f"r{n}")
    for n in range(2):
        await bot.run("/coalition profile --sector youth", as_=f"y{n}")
    await bot.run('/poll survey "Quarterly check-in" "I trust the coalition" "Meetings are useful"')
    for n in range(6):
        await bot.run(f"/poll respond 1 {2 + n % 2} 4", as_=f"r{n}")
    await bot.click("survey:answer:1:0", as_="y0", value="5")
    await bot.click("survey:answer:1:0", as_="y1", value="5")
    hidden = await bot.run("/poll results 1")
    assert hidden.error and "hidden until it closes" in shown(hidden)
    await bot.run("/poll close 1")
    first = shown(await bot.run("/poll results 1"))
    assert "8 respondents; round 1 of this survey." in first
    # Residents (6) could be shown, but overall minus residents would be the 2 youth: no sectors.
    assert "1. I trust the coalition: average 3.1 of 5 (8 answers; 1:0 2:3 3:3 4:0 5:2)" in first
    assert "by sector" not in first and "2 sectors not shown separately" in first
    assert "2. Meetings are useful: average 4.0 of 5 (6 answers" in first
    await bot.run('/poll survey "quarterly check-in" "I trust the coalition" "Meetings are useful"')
    for n in range(6):
        await bot.run("/poll respond 2 4 4", as_=f"r{n}")
    await bot.run("/poll close 2")
    second = shown(await bot.run("/poll results 2"))
    assert "round 2 of this survey" in second
    # 6 answers against the last round's 8: the two who did not answer again could be differenced out.
    first_line = next(line for line in second.splitlines() if line.startswith("1."))
    assert "average 4.0 of 5 (6 answers; 1:0 2:0 3:0 4:6 5:0)" in first_line and "last round" not in first_line
    assert "2. Meetings are useful: average 4.0 of 5 (6 answers; 1:0 2:0 3:0 4:6 5:0), ±0.0 on the last round" in second
    ballots = await _rows(bot, "SELECT voter_key, sector FROM survey_responses")
    assert all(len(key) == 64 for key, _ in ballots)  # keyed hashes, no member ids


async def test_survey_bad_input(town) -> None:
    bot, _ = town
    none = await bot.run('/poll survey "Empty"')
    assert none.error and "Give the survey's title and its statements, or --template partnership" in shown(none)
    many = await bot.run('/poll survey "Long" ' + " ".join(f"q{n}" for n in range(11)))
    assert many.error and "A survey has 1 to 10 questions; 11 were given" in shown(many)
    await bot.run('/poll survey "Short" "Fine?"')
    wrong = await bot.run("/poll respond 1 7", as_="maria")
    assert wrong.error and "from 1 (strongly disagree) to 5 (strongly agree)" in shown(wrong)
    vote = await bot.run("/poll vote 1 1", as_="maria")
    assert vote.error and "is a survey" in shown(vote)


async def _rows(bot: Harness, sql: str) -> list[tuple]:
    async with bot.dispatcher.app.db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


# The weekly digest -------------------------------------------------------------------------


async def test_weekly_digest_goes_once_on_its_day_with_the_week_ahead(town, db: Database, clock) -> None:
    bot, platform = town
    reply = await bot.run("/coalition digest on --day tuesday --hour 9")
    assert "every Tuesday at 09:00 (UTC)" in shown(reply) and "Tue 24 Nov 2026, 09:00 UTC" in shown(reply)
    await bot.run('/meeting schedule "Budget review" "wednesday 6pm"')
    await bot.run('/poll create "Venue?" Library Online --closes "thursday 5pm"')
    await bot.run('/broadcast send "Road closure"')
    await bot.click("broadcast:ack:1", as_="maria")
    await bot.run('/meeting action 1 "Print flyers" @maria --due "in 2 days"')
    await advance(bot, timedelta(hours=23, minutes=59))
    assert not [p for p in platform.posted if p.key.startswith("digest:")]
    # The bot restarts just before the digest is due; two processes come up together.
    await bot.dispatcher.app.scheduler.stop()
    clock.set(clock.now() + timedelta(minutes=2))
    await two_processes_catch_up(db.url, clock, platform)
    digests = [p for p in platform.posted if p.key.startswith("digest:")]
    assert [p.key for p in digests] == ["digest:1:2026-11-24"]
    text = bot.show(digests[0].reply)
    assert "The week ahead for Our coalition" in text
    assert "25 Nov 2026, 18:00 UTC: Budget review (#1)" in text
    assert "#1 Venue?: closes in 2 days" in text  # Thursday 17:00, read at Tuesday 09:01 on the bot's clock
    assert "#1 Road closure: 1 of 5 acknowledged" in text
    assert "Print flyers, maria: due" in text


async def test_digest_settings_are_checked(town) -> None:
    bot, _ = town
    bad = await bot.run("/coalition digest on --day someday")
    assert bad.error and "'someday' is not a day of the week" in shown(bad)
    late = await bot.run("/coalition digest on --hour 25")
    assert late.error and "25 is too large; the maximum is 23" in shown(late)
    refused = await bot.run("/coalition digest on", as_="maria")
    assert refused.error and "Only coordinators" in shown(refused)
    assert "gets no weekly digest" in shown(await bot.run("/coalition digest", as_="maria"))
    await bot.run("/coalition digest on --day fri --hour 16")
    assert "every Friday at 16:00" in shown(await bot.run("/coalition digest show", as_="maria"))
    await bot.run("/coalition digest off")
    assert "gets no weekly digest" in shown(await bot.run("/coalition digest"))


async def test_home_lists_a_survey_until_it_is_answered(town) -> None:
    bot, _ = town
    await bot.run('/poll survey "Check-in" "Meetings are useful"')
    home = await bot.dispatcher.run_home(bot.actor("maria"), bot.where("general"))
    texts = [strip_markers(getattr(b, "text", "")) for b in home.blocks]
    assert any("Survey: Check-in" in t for t in texts) and any(
        "Open polls waiting for your vote** (1)" in t for t in texts
    )
    await bot.run("/poll respond 1 4", as_="maria")
    home = await bot.dispatcher.run_home(bot.actor("maria"), bot.where("general"))
    assert not any("Survey: Check-in" in strip_markers(getattr(b, "text", "")) for b in home.blocks)


async def test_the_chart_agrees_with_the_text_and_its_legend_covers_no_bar(town) -> None:
    """A rate with nothing to measure is n/a in the text and n/a on the chart (not a 0% bar), and
    the legend stands clear of every bar, a full 100% one included."""
    from bot.services.reports import METRICS, _figure

    bot, _ = town
    await _activity(bot)
    async with bot.dispatcher.app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(bot.where("general"))).coalition
        assert coalition is not None and coalition.id is not None
        report = await services.reports.build(coalition.id, bot.dispatcher.app.clock.now(), timedelta(days=30))
    report.overall.rates["active"] = 1.0  # a full bar, where a legend in the lower right used to sit
    report.overall.rates["polls"] = None
    figure = _figure(report, "Test")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    axes = figure.axes[0]
    legend = axes.get_legend().get_window_extent(renderer)
    for bar in axes.patches:
        assert not legend.overlaps(bar.get_window_extent(renderer))
    labels = [t.get_text() for t in axes.texts]
    assert labels[list(METRICS).index("polls")] == "n/a" and labels[list(METRICS).index("active")] == "100%"


# Kept days against asking the database ----------------------------------------------------------


async def _both(bot: Harness, length: timedelta) -> tuple[object, object]:
    """The report as the bot builds it (kept days) and as asking the database for every day builds it."""
    app = bot.dispatcher.app
    async with app.unit_of_work() as services:
        kept = await services.reports.build(1, app.clock.now(), length)
        asked = await ReportService(services.repos, app.clock, use_kept=False).build(1, app.clock.now(), length)
    return kept, asked


async def _kept_days(bot: Harness) -> int:
    app = bot.dispatcher.app
    async with app.unit_of_work() as services:
        now = app.clock.now()
        return len(await services.repos.engagement.kept(1, now - timedelta(days=60), now))


KEPT_ROWS = "SELECT * FROM engagement_days ORDER BY day"


async def _agree(bot: Harness) -> None:
    for length in (timedelta(days=2), timedelta(days=7), timedelta(days=30)):
        kept, asked = await _both(bot, length)
        assert kept == asked, length


async def test_kept_days_agree_with_asking_the_database_through_every_change(town) -> None:
    """Reports read a row a day from the days the housekeeping kept; every change that alters a
    kept day (attendance recorded days later, an answer or a named vote changed on a later day, a
    sector changed, a meeting moved or cancelled, a member forgotten) must leave the report what
    asking the database for every day gives, before and after the days are kept again."""
    bot, _ = town
    app = bot.dispatcher.app
    await _activity(bot)  # two meetings held, polls, a broadcast: 2 days ago and before
    await bot.run('/meeting schedule "Forum" "in 9 days"')
    await bot.run("/meeting rsvp 3 going", as_="jamal")
    await bot.run("/poll vote 1 1", as_="sam")  # the only thing sam does that day
    await advance(bot, timedelta(days=1, hours=3))  # the housekeeping keeps the days now over
    assert await _kept_days(bot) >= 3
    await _agree(bot)

    changes = [
        ("/meeting rsvp 3 maybe", "jamal"),  # his answer of a day ago moves to today
        ("/meeting attended 1 @admin @jamal", "admin"),  # attendance of a meeting days ago
        ("/coalition profile --sector youth", "maria"),  # every kept day counts her elsewhere now
        ("/poll vote 1 2", "sam"),  # his named vote of days ago moves to today
        ("/meeting cancel 2", "admin"),  # a meeting held days ago
        ("/meeting cancel 3", "admin"),
        ("/poll vote 2 1", "lee"),  # anonymous: kept days hold no trace of it
    ]
    for command, who in changes:
        before = await _rows(bot, KEPT_ROWS)
        reply = await bot.run(command, as_=who)
        assert not reply.error, (command, shown(reply))
        if who == "lee":  # an anonymous vote changes no stored day: nothing to date it by
            assert await _rows(bot, KEPT_ROWS) == before
        await _agree(bot)  # the changed days are asked for again, not read stale
        await advance(bot, timedelta(days=1))  # and kept again
        await _agree(bot)

    async with app.db.engine.connect() as conn:
        (maria,) = (await conn.execute(text("SELECT id FROM members WHERE user_id = 'maria'"))).one()
    asked = await bot.run("/coalition forget-me", as_="maria")
    assert not (await bot.click(asked.buttons[0].action_id, as_="maria")).error
    await _agree(bot)
    await advance(bot, timedelta(days=1))
    await _agree(bot)
    async with app.db.engine.connect() as conn:
        stale = (await conn.execute(text("SELECT count(*) FROM engagement_days WHERE kept_version != version"))).one()
        kept = (await conn.execute(text("SELECT active FROM engagement_days"))).all()
    assert stale[0] == 0  # every day kept again
    assert all(maria not in unpack_ids(bytes(active)) for (active,) in kept)  # no day names her by id


async def test_a_day_changed_while_it_is_being_kept_is_not_taken_for_current(bot: Harness) -> None:
    """The keeper reads a day's version before reading the day; a change that lands in between
    bumps the version, and the day it writes stays stale (to be kept again), never current."""
    app = bot.dispatcher.app
    day = datetime(2026, 11, 20, tzinfo=UTC)
    async with app.unit_of_work() as services:
        versions = await services.repos.engagement.begin_keeping(1, [day])
        await services.repos.engagement.touch(1, [day + timedelta(hours=5)])  # the change, meanwhile
        await services.repos.engagement.keep(1, day, versions[day], 3, {"resident": 2}, {}, {"resident": {2, 1}})
        assert await services.repos.engagement.kept(1, day, day + timedelta(days=1)) == []
        versions = await services.repos.engagement.begin_keeping(1, [day])
        await services.repos.engagement.keep(1, day, versions[day], 3, {"resident": 2}, {}, {"resident": {2, 1}})
        (kept,) = await services.repos.engagement.kept(1, day, day + timedelta(days=1))
        await services.commit()
    assert (kept.meetings, kept.attendance) == (3, {"resident": 2})
    assert {sector: list(ids) for sector, ids in kept.active.items()} == {"resident": [1, 2]}


async def test_a_long_history_is_kept_over_several_wake_ups(town, monkeypatch: pytest.MonkeyPatch) -> None:
    """A coalition with weeks of days to keep is caught up a few days per wake-up (so deliveries
    and everything else due go on between them); each wake-up asks to be woken again at once."""
    bot, _ = town
    app = bot.dispatcher.app
    monkeypatch.setattr(EngagementKeeper, "SLICE", 2)
    monkeypatch.setattr(EngagementKeeper, "SLICES", 1)
    keeper = next(s for s in app.scheduler.sources if isinstance(s, EngagementKeeper))
    app.clock.set(app.clock.now() + timedelta(days=9))
    assert await keeper.run_due(app.clock.now()) == 2
    assert await keeper.next_due(app.clock.now()) == app.clock.now()  # more to keep: wake again at once
    assert await _kept_days(bot) == 2
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=1))
    assert await _kept_days(bot) == 9  # every whole day since the coalition began
    assert await keeper.next_due(app.clock.now()) > app.clock.now() + timedelta(hours=23)
    await _agree(bot)
