"""Roles, permissions, the audit log, rate limits and members' data rights (issue 8)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from adapters import build_dispatcher
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from commands import build_registry
from storage import Database
from tests.conftest import START, examples
from tests.harness import Harness, shown
from tests.messengers import MemoryPlatform

# For every command: a case that is allowed and one that is refused, as (who, channel, text).
CASES: dict[tuple[str, ...], tuple[tuple[str, str, str], tuple[str, str, str]]] = {
    ("coalition", "help"): (("maria", "general", "/coalition help"), ("maria", "general", "/coalition help nothing")),
    ("coalition", "setup"): (
        ("admin", "general", '/coalition setup "Other"'),
        ("maria", "general", '/coalition setup "X"'),
    ),
    ("coalition", "whoami"): (
        ("maria", "general", "/coalition whoami"),
        ("maria", "general", "/coalition whoami extra"),
    ),
    ("coalition", "timezone"): (
        ("maria", "general", "/coalition timezone Europe/Paris"),
        ("maria", "general", "/coalition timezone Mars/Base"),
    ),
    ("coalition", "link"): (("admin", "eastside", "/coalition link"), ("maria", "eastside", "/coalition link")),
    ("coalition", "unlink"): (("admin", "police", "/coalition unlink"), ("maria", "police", "/coalition unlink")),
    ("coalition", "invite"): (("admin", "general", "/coalition invite"), ("maria", "general", "/coalition invite")),
    ("coalition", "join"): (
        ("admin", "general", "/coalition join ABCD-EFGH-JKMN"),
        ("maria", "general", "/coalition join ABCD"),
    ),
    ("coalition", "channels"): (
        ("maria", "general", "/coalition channels"),
        ("maria", "nowhere", "/coalition channels x"),
    ),
    ("coalition", "role"): (
        ("admin", "general", "/coalition role @maria observer"),
        ("maria", "general", "/coalition role @admin member"),
    ),
    ("coalition", "audit"): (("admin", "general", "/coalition audit"), ("maria", "general", "/coalition audit")),
    ("coalition", "language"): (
        ("maria", "general", "/coalition language en"),
        ("maria", "general", "/coalition language klingon"),
    ),
    ("coalition", "doctor"): (("admin", "general", "/coalition doctor"), ("maria", "general", "/coalition doctor")),
    ("coalition", "my-data"): (
        ("maria", "general", "/coalition my-data"),
        ("maria", "general", "/coalition my-data --all"),
    ),
    ("coalition", "forget-me"): (
        ("maria", "general", "/coalition forget-me"),
        ("admin", "general", "/coalition forget-me"),
    ),
    ("broadcast", "send"): (
        ("admin", "general", '/broadcast send "Hello"'),
        ("maria", "general", '/broadcast send "Hello"'),
    ),
    ("broadcast", "list"): (("maria", "general", "/broadcast list"), ("maria", "general", "/broadcast list now")),
    ("broadcast", "status"): (("admin", "general", "/broadcast status 1"), ("maria", "general", "/broadcast status 1")),
    ("broadcast", "cancel"): (("admin", "general", "/broadcast cancel 2"), ("maria", "general", "/broadcast cancel 2")),
    ("broadcast", "nudge"): (("admin", "general", "/broadcast nudge 1"), ("maria", "general", "/broadcast nudge 1")),
    ("meeting", "schedule"): (
        ("maria", "general", '/meeting schedule "Walk" "friday 6pm"'),
        ("maria", "nowhere", '/meeting schedule "Walk" "friday 6pm"'),
    ),
    ("meeting", "list"): (("maria", "general", "/meeting list"), ("maria", "general", "/meeting list soon")),
    ("meeting", "show"): (("maria", "general", "/meeting show 1"), ("maria", "general", "/meeting show 77")),
    ("meeting", "rsvp"): (
        ("maria", "general", "/meeting rsvp 1 going"),
        ("viewer", "general", "/meeting rsvp 1 going"),
    ),
    ("meeting", "cancel"): (("admin", "general", "/meeting cancel 1"), ("maria", "general", "/meeting cancel 1")),
    ("meeting", "edit"): (
        ("admin", "general", "/meeting edit 1 --where Library"),
        ("maria", "general", "/meeting edit 1 --where Park"),
    ),
    ("meeting", "agenda"): (
        ("maria", "general", '/meeting agenda 1 add "Route"'),
        ("viewer", "general", '/meeting agenda 1 add "x"'),
    ),
    ("meeting", "minutes"): (
        ("admin", "general", '/meeting minutes 1 "Notes"'),
        ("maria", "general", '/meeting minutes 1 "x"'),
    ),
    ("meeting", "attended"): (("admin", "general", "/meeting attended 2"), ("maria", "general", "/meeting attended 2")),
    ("meeting", "action"): (
        ("maria", "general", '/meeting action 1 "Call the city" @maria --due "in 2 days"'),
        ("viewer", "general", '/meeting action 1 "Call" @maria --due "in 2 days"'),
    ),
    ("meeting", "actions"): (
        ("maria", "general", "/meeting actions open"),
        ("maria", "general", "/meeting actions all"),
    ),
    ("meeting", "done"): (("admin", "general", "/meeting done 1"), ("maria", "general", "/meeting done 99")),
    ("meeting", "reminders"): (
        ("maria", "general", "/meeting reminders --mine 2h"),
        ("maria", "general", "/meeting reminders --coalition 48h"),
    ),
    ("meeting", "ics"): (("maria", "general", "/meeting ics"), ("maria", "general", "/meeting ics 77")),
    ("meeting", "feed"): (("maria", "general", "/meeting feed"), ("maria", "general", "/meeting feed --public")),
    ("coalition", "feedback"): (
        ("maria", "general", '/coalition feedback "More evening meetings, please"'),
        ("maria", "general", '/coalition feedback ""'),
    ),
    ("poll", "create"): (
        ("maria", "general", '/poll create "Lunch?" Soup Salad'),
        ("viewer", "general", '/poll create "Lunch?" Soup Salad'),
    ),
    ("poll", "when"): (
        ("maria", "general", '/poll when "Walk" "tuesday 7pm" "wednesday 6pm"'),
        ("maria", "nowhere", '/poll when "Walk" "tuesday 7pm" "wednesday 6pm"'),
    ),
    ("poll", "vote"): (("maria", "general", "/poll vote 1 2"), ("viewer", "general", "/poll vote 1 2")),
    ("poll", "show"): (("maria", "general", "/poll show 1"), ("maria", "general", "/poll show 77")),
    ("poll", "results"): (("maria", "general", "/poll results 1"), ("maria", "general", "/poll results 77")),
    ("poll", "list"): (("maria", "general", "/poll list"), ("maria", "general", "/poll list open")),
    ("poll", "close"): (("admin", "general", "/poll close 1"), ("maria", "general", "/poll close 1")),
    ("goal", "add"): (
        (
            "admin",
            "general",
            '/goal add "Lit streets" --measure "street lights on" --baseline 60 --target 90 --by 2027-06-30',
        ),
        (
            "maria",
            "general",
            '/goal add "Lit streets" --measure "street lights on" --baseline 60 --target 90 --by 2027-06-30',
        ),
    ),
    ("goal", "list"): (("maria", "general", "/goal list"), ("maria", "general", "/goal list --all")),
    ("goal", "show"): (("maria", "general", "/goal show 1"), ("maria", "general", "/goal show 9")),
    ("goal", "record"): (
        ("maria", "general", "/goal record 1 40 --for 2026-10"),
        ("jamal", "general", "/goal record 1 40"),
    ),
    ("goal", "edit"): (
        ("admin", "general", "/goal edit 1 --target 28"),
        ("maria", "general", "/goal edit 1 --target 28"),
    ),
    ("goal", "close"): (
        ("admin", "general", '/goal close 1 --outcome "Met early"'),
        ("maria", "general", '/goal close 1 --outcome "Met early"'),
    ),
    ("poll", "add"): (
        ("maria", "general", '/poll add 3 "Youth night"'),
        ("viewer", "general", '/poll add 3 "Parking"'),
    ),
    ("poll", "remove"): (("admin", "general", "/poll remove 3 3"), ("maria", "general", "/poll remove 3 3")),
    ("poll", "remind"): (("admin", "general", "/poll remind 1"), ("maria", "general", "/poll remind 1")),
    ("poll", "export"): (("admin", "general", "/poll export 1"), ("maria", "general", "/poll export 1")),
    ("poll", "survey"): (
        ("admin", "general", '/poll survey "Check-in" "I trust the coalition"'),
        ("maria", "general", '/poll survey "Check-in" "I trust the coalition"'),
    ),
    ("poll", "respond"): (("maria", "general", "/poll respond 2 4"), ("maria", "general", "/poll respond 1 4")),
    ("coalition", "profile"): (
        ("maria", "general", "/coalition profile --sector resident"),
        ("maria", "general", "/coalition profile --sector teachers"),
    ),
    ("coalition", "sectors"): (
        ("admin", "general", "/coalition sectors --wanted resident,youth"),
        ("maria", "general", "/coalition sectors --wanted resident"),
    ),
    ("coalition", "map"): (("maria", "general", "/coalition map"), ("maria", "general", "/coalition map all")),
    ("coalition", "report"): (
        ("maria", "general", "/coalition report"),
        ("maria", "general", "/coalition report --since 5y"),
    ),
    ("coalition", "digest"): (
        ("admin", "general", "/coalition digest on --day friday"),
        ("maria", "general", "/coalition digest on"),
    ),
    ("coalition", "page"): (("admin", "general", "/coalition page"), ("maria", "general", "/coalition page off")),
    ("coalition", "email"): (
        ("admin", "general", "/coalition email list"),
        ("maria", "general", "/coalition email list"),
    ),
    ("poll", "public"): (("admin", "general", "/poll public 1"), ("maria", "general", "/poll public 1 off")),
    ("decision", "propose"): (
        ("maria", "general", '/decision propose "Paint the centre"'),
        ("viewer", "general", '/decision propose "Paint the centre"'),
    ),
    ("decision", "position"): (
        ("maria", "general", "/decision position 1 consent"),
        ("viewer", "general", "/decision position 1 consent"),
    ),
    ("decision", "withdraw"): (
        ("maria", "general", "/decision withdraw 1"),
        ("viewer", "general", "/decision withdraw 1"),
    ),
    ("decision", "amend"): (
        ("admin", "general", '/decision amend 1 "Paint the centre blue"'),
        ("jamal", "general", '/decision amend 1 "Paint it red"'),
    ),
    ("decision", "close"): (("admin", "general", "/decision close 1"), ("jamal", "general", "/decision close 1")),
    ("decision", "outcome"): (
        ("admin", "general", '/decision outcome 2 "The centre is painted in spring"'),
        ("maria", "general", '/decision outcome 2 "Not mine to say"'),
    ),
    ("decision", "show"): (("maria", "general", "/decision show 1"), ("maria", "general", "/decision show 77")),
    ("decision", "list"): (("maria", "general", "/decision list"), ("maria", "general", "/decision list everything")),
    ("decision", "review"): (("admin", "general", "/decision review 2"), ("maria", "general", "/decision review 2")),
    ("decision", "export"): (("admin", "general", "/decision export"), ("maria", "general", "/decision export")),
}


@pytest.fixture
async def world(bot: Harness) -> AsyncIterator[Harness]:
    """#general, #police linked; maria a member; broadcast #1 sent, #2 scheduled for later; the HTTP
    server up, as with HTTP_PORT set, for the calendar feed."""
    bot.dispatcher.app.add_messenger(MemoryPlatform())
    await bot.dispatcher.app.web.start("127.0.0.1", 0)
    await bot.run("/coalition link --tags police", channel="police")
    await bot.run("/coalition whoami", as_="maria")
    await bot.run('/broadcast send "First"')
    await bot.run('/broadcast send "Later" --at "in 2 hours"')
    await bot.run('/meeting schedule "Safety walk" "tuesday 7pm"')
    await bot.run('/meeting schedule "Morning check-in" "in 1 minute"')
    await bot.run("/coalition whoami", as_="viewer")
    await bot.run("/coalition role @viewer observer")
    await bot.run('/meeting action 1 "Print flyers" @maria --due "in 2 days"')
    await bot.run('/poll create "Next forum venue?" Library Online')
    await bot.run('/poll survey "Quarterly check-in" "Meetings are useful"')
    await bot.run('/poll create "Forum topics?" Housing Lighting Parks --open')
    await bot.run(
        '/goal add "Fewer youth arrests" --measure "arrests" --baseline 42 --target 30 --by 2027-12-31 '
        "--lower-is-better --owner @maria"
    )
    await bot.run('/decision propose "Paint the centre"')
    await bot.run("/decision position 1 concern", as_="maria")
    await bot.run('/decision propose "Open on Sundays"')
    await bot.run("/decision close 2")
    await bot.dispatcher.app.scheduler.advance_to(START + timedelta(minutes=5))
    yield bot
    await bot.dispatcher.app.web.stop()


def test_every_command_has_an_allowed_and_a_refused_case() -> None:
    assert set(CASES) == {path for path, _ in build_registry().leaves()}


@pytest.mark.parametrize("path", sorted(CASES))
async def test_allowed_and_refused(world: Harness, path: tuple[str, ...]) -> None:
    (who, where, allowed), (who_refused, where_refused, refused) = CASES[path]
    if path == ("coalition", "setup"):
        # Set-up is for a space without a coalition, by its admin.
        slack = Harness(world.dispatcher, platform="slack", workspace="T9")
        assert not (await slack.run(allowed, as_="U1", admin=True)).error
        assert (await slack.run(refused, as_="U2")).error
        return
    if path == ("coalition", "join"):
        code = shown(await world.run("/coalition invite")).split("`")[1]
        discord = Harness(world.dispatcher, platform="discord", workspace="G9")
        assert not (await discord.run(f"/coalition join {code}", as_="1", admin=True)).error
        assert (await discord.run(refused, as_="2")).error
        return
    ok = await world.run(allowed, as_=who, channel=where)
    assert not ok.error, shown(ok)
    no = await world.run(refused, as_=who_refused, channel=where_refused)
    assert no.error, shown(no)


async def test_refusals_say_who_can(world: Harness) -> None:
    reply = await world.run('/broadcast send "x"', as_="maria")
    assert shown(reply) == "⚠️ Only coordinators can use /broadcast send. Coordinators here: admin."
    await world.run("/coalition role @maria observer")
    observer = await world.click("broadcast:ack:1", as_="maria")
    assert not observer.error  # observers read along; acknowledging is reading


async def test_actions_from_unlinked_spaces_get_guidance(world: Harness) -> None:
    stranger = Harness(world.dispatcher, platform="slack", workspace="T-OTHER")
    reply = await stranger.click("broadcast:ack:1", as_="U1", channel="C1")
    assert reply.error and "isn't part of a coalition yet" in shown(reply)


async def test_roles_guard_the_last_coordinator(world: Harness) -> None:
    alone = await world.run("/coalition role @admin member")
    assert alone.error and "only coordinator" in shown(alone)
    assert "maria is now a coordinator (was member)" in shown(await world.run("/coalition role @maria coordinator"))
    assert "admin is now a member" in shown(await world.run("/coalition role @admin member", as_="maria"))
    again = await world.run("/coalition role @admin member", as_="maria")
    assert again.error and "already a member" in shown(again)


async def test_every_coordinator_action_is_audited(world: Harness) -> None:
    code = shown(await world.run("/coalition invite")).split("`")[1]
    await Harness(world.dispatcher, platform="discord", workspace="G1").run(
        f"/coalition join {code}", as_="1", admin=True
    )
    await world.run("/coalition link --tags youth", channel="youth")
    await world.run("/coalition unlink", channel="youth")
    await world.run("/coalition role @maria coordinator")
    await world.run("/broadcast nudge 1")
    await world.run("/broadcast cancel 2")
    await world.run("/broadcast status 1")  # reading: not an action
    listing = shown(await world.run("/coalition audit"))
    for expected in (
        "admin ran `/coalition link` #police tags=police",
        "admin ran `/broadcast send` broadcast #1 to 2 channels",
        "admin ran `/coalition invite` #general",
        "1 ran `/coalition join` #general",
        "admin ran `/coalition link` #youth tags=youth",
        "admin ran `/coalition unlink` #youth",
        "admin ran `/coalition role` maria: member → coordinator",
        "admin ran `/broadcast nudge` broadcast #1: reminder asked",
        "admin ran `/broadcast cancel` broadcast #2",
    ):
        assert expected in listing, expected
    assert "/broadcast status" not in listing
    assert "First" not in listing and "Later" not in listing  # what was written stays out of the log


async def test_audit_csv_and_since(world: Harness, clock: SimulatedClock) -> None:
    clock.set(START + timedelta(days=10))
    await world.run("/coalition link", channel="late")
    recent = shown(await world.run("/coalition audit --since 2d"))
    assert "#late" in recent and "#police" not in recent
    reply = await world.run("/coalition audit --csv")
    rows = list(csv.reader(io.StringIO(reply.attachments[0].content.decode())))
    assert rows[0] == ["time (UTC)", "actor", "platform", "action", "target"]
    assert any(r[3] == "/coalition link" and r[4] == "#late" for r in rows[1:])
    assert "/coalition audit --csv" in shown(await world.run("/coalition audit"))


async def test_csv_cells_cannot_become_formulas(world: Harness) -> None:
    # A platform admin whose display name is a formula joins as a coordinator and acts.
    assert not (await world.run("/coalition link", as_="=HYPERLINK(1)", channel="x", admin=True)).error
    data = (await world.run("/coalition audit --csv")).attachments[0].content.decode()
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[1][1:] == ["'=HYPERLINK(1)", "console", "/coalition link", "#x"]


async def test_rate_limits_say_when_to_try_again(world: Harness, clock: SimulatedClock) -> None:
    for n in range(3):  # two were sent by the fixture; the limit is 5 per 10 minutes
        assert not (await world.run(f'/broadcast send "update {n}"')).error
    limited = await world.run('/broadcast send "one too many"')
    assert limited.error
    message = world.show(limited)
    # The first two were sent 5 minutes ago (the fixture's clock moved), so a slot frees in 5 minutes.
    assert "the limit is 5 per 10 minutes" in message and "You can use it again in 5 minutes" in message
    clock.set(clock.now() + timedelta(minutes=11))
    assert not (await world.run('/broadcast send "calm again"')).error


async def test_my_data_is_private_and_complete(world: Harness) -> None:
    await world.click("broadcast:ack:1", as_="maria")
    reply = await world.run("/coalition my-data", as_="maria")
    assert reply.private
    data = json.loads(reply.attachments[0].content)
    assert data["you"]["user_id"] == "maria" and data["you"]["role"] == "member"
    assert [a["broadcast"] for a in data["acknowledgements"]] == [1]
    assert data["broadcasts_sent"] == [] and "Anonymous ballots" in data["not_included"]


async def test_forget_me_erases_identity_and_keeps_counts(world: Harness, db: Database) -> None:
    await world.run("/coalition role @maria coordinator")
    await world.run('/broadcast send "Budget update"', as_="maria")
    await world.dispatcher.app.scheduler.advance_to(START + timedelta(seconds=10))
    await world.click("broadcast:ack:1", as_="maria")
    await world.click("broadcast:ack:1", as_="officer")
    asked = await world.run("/coalition forget-me", as_="maria")
    assert asked.buttons[0].action_id.startswith("coalition:forget:")
    other = await world.click(asked.buttons[0].action_id, as_="officer")
    assert other.error and "someone else's" in shown(other)
    done = await world.click(asked.buttons[0].action_id, as_="maria")
    assert done.replace_original and "erased" in shown(done)

    status = shown(await world.run("/broadcast status 1"))
    assert "Acknowledged by 2 members" in status
    assert "Who: officer (and 1 former member)" in status
    assert "By sector: former members 1, no sector given 1" in status
    assert "by a former member" in shown(await world.run("/broadcast status 3"))
    audit = shown(await world.run("/coalition audit"))
    assert "a former member ran `/broadcast send`" in audit
    assert "admin ran `/coalition role` a former member: member → coordinator" in audit
    leftovers = await find_strings(db, ["maria", "Maria"])
    assert leftovers == [], leftovers


async def test_the_last_coordinator_cannot_forget_themselves(world: Harness) -> None:
    reply = await world.run("/coalition forget-me")
    assert reply.error and "only coordinator" in shown(reply)


async def find_strings(db: Database, needles: list[str]) -> list[str]:
    """Every text cell in the database that contains one of the needles."""
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(
            lambda c: {t: [col["name"] for col in inspect(c).get_columns(t)] for t in inspect(c).get_table_names()}
        )
        found = []
        for table, columns in tables.items():
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str) and any(n in value for n in needles):
                        found.append(f"{table}.{column}={value[:60]!r}")
        return found


# Arbitrary text through the parser and every handler -----------------------------------------


async def _snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table: a refused command must leave all of them exactly as they were."""
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        return {
            n: sorted(repr(tuple(row)) for row in (await conn.execute(text(f"SELECT * FROM {n}"))).all())
            for n in names
            if n != "alembic_version"
        }


PATHS = sorted(" ".join(p) for p, _ in build_registry().leaves())


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"

    async def build() -> Harness:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.upgrade()
        app = App(Settings(database_url=db.url), db, SimulatedClock(START))
        harness = Harness(build_dispatcher(app))
        await harness.start()
        await harness.run("/coalition whoami", as_="maria")
        return harness

    harness = loop.run_until_complete(build())
    yield loop, harness
    loop.run_until_complete(harness.dispatcher.app.db.dispose())
    loop.close()


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), tail=st.text(max_size=120), who=st.sampled_from(["admin", "maria"]))
def test_arbitrary_text_never_crashes_and_errors_write_nothing(fuzz_world, path: str, tail: str, who: str) -> None:  # type: ignore[no-untyped-def]
    loop, harness = fuzz_world
    before = loop.run_until_complete(_snapshot(harness.dispatcher.app.db))
    reply = loop.run_until_complete(harness.run(f"/{path} {tail}", as_=who))
    after = loop.run_until_complete(_snapshot(harness.dispatcher.app.db))
    assert "something went wrong on our side" not in shown(reply), shown(reply)
    if reply.error:
        assert after == before, (path, tail, shown(reply))


async def test_forgetting_a_member_who_did_everything_leaves_no_name(world: Harness, db: Database) -> None:
    """Quentin did everything the bot offers, as a member and then as a coordinator; after forget-me
    no text cell of the database and no pending message names him, and posted cards are redrawn."""
    platform = world.dispatcher.app.workers["console"].messenger
    assert isinstance(platform, MemoryPlatform)
    q = "quentin"
    await world.run('/coalition profile --organisation "Quentin Watch" --sector resident', as_=q)
    await world.run("/coalition timezone America/Chicago", as_=q)
    await world.run("/meeting reminders --mine 3h,20m", as_=q)
    await world.run("/meeting rsvp 1 going", as_=q)
    await world.click("meeting:rsvp:1:going", as_=q)
    await world.click("poll:vote:1:1", as_=q)
    await world.run("/poll respond 2 4", as_=q)
    await world.run('/poll create "Quentin asks: venue?" Hall Park --anonymous', as_=q)
    await world.run("/poll vote 3 2", as_=q)
    await world.run('/coalition feedback "Quentin thinks the meetings run long"', as_=q)
    await world.run('/meeting action 1 "Quentin buys chairs" @quentin --due "in 3 days"')
    await world.run("/meeting attended 1 @quentin")
    await world.run("/coalition role @quentin coordinator")
    await world.run("/coalition invite", as_=q)
    await world.run('/meeting schedule "Quentin\'s walk" "wednesday 6pm"', as_=q)
    await world.run('/broadcast send "Quentin here: walk moved"', as_=q)
    await world.dispatcher.app.scheduler.advance_to(START + timedelta(minutes=10))
    await world.click("broadcast:ack:3", as_=q)
    card = next(p for p in platform.posted if p.key.startswith("meeting:1:announce:"))
    assert "quentin" in shown(card.edits[-1]).lower()

    audit = shown(await world.run("/coalition audit"))
    assert "admin ran `/coalition role` quentin: member → coordinator" in audit  # read, never written back

    asked = await world.run("/coalition forget-me", as_=q)
    done = await world.click(asked.buttons[0].action_id, as_=q)
    assert "erased" in shown(done), shown(done)
    assert "admin ran `/coalition role` a former member: member → coordinator" in shown(
        await world.run("/coalition audit")
    )
    await world.dispatcher.app.scheduler.advance_to(START + timedelta(minutes=20))

    # What he typed as content stays as the coalition's record, without his name attached to it.
    typed = ("Quentin Watch", "Quentin asks", "Quentin here", "Quentin's walk", "Quentin buys", "Quentin thinks")
    named = []
    async with db.engine.connect() as conn:
        for table in await conn.run_sync(lambda c: inspect(c).get_table_names()):
            for row in (await conn.execute(text(f"SELECT * FROM {table}"))).all():
                for value in row:
                    if isinstance(value, str):
                        for phrase in typed:
                            value = value.replace(phrase, "").replace(json.dumps(phrase)[1:-1], "")
                        if "quentin" in value.lower():
                            named.append(f"{table}: {value[:200]}")
    assert named == [], named
    assert card.edits, "the posted card was not redrawn"
    assert "quentin" not in shown(card.edits[-1]).lower() and "a former member" in shown(card.edits[-1])


async def test_unlinking_a_channel_where_broadcasts_were_acknowledged(world: Harness) -> None:
    await world.click("broadcast:ack:1", as_="maria", channel="police")
    reply = await world.run("/coalition unlink", channel="police")
    assert not reply.error and "no longer linked" in shown(reply), shown(reply)
    status = shown(await world.run("/broadcast status 1"))
    assert "Acknowledged by 1 member" in status, status


ACTION_PREFIXES = sorted(spec.prefix for spec in build_registry().actions())
FORGED_PART = st.one_of(
    st.integers(min_value=-5, max_value=10**30).map(str),
    st.sampled_from(["²", "①", "١", "0", "1", "2", "3", "", "going", "poll", "1e3", " 1", "+1", "٣"]),
    st.text(max_size=12),
)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(ACTION_PREFIXES),
    parts=st.lists(FORGED_PART, max_size=3),
    value=st.one_of(st.none(), FORGED_PART, st.lists(FORGED_PART, max_size=3).map(",".join)),
    who=st.sampled_from(["admin", "maria", "newcomer"]),
)
def test_forged_clicks_never_crash_and_refusals_write_nothing(  # type: ignore[no-untyped-def]
    fuzz_world, prefix: str, parts: list[str], value: str | None, who: str
) -> None:
    loop, harness = fuzz_world
    action_id = ":".join([prefix, *parts])
    before = loop.run_until_complete(_snapshot(harness.dispatcher.app.db))
    reply = loop.run_until_complete(harness.click(action_id, as_=who, value=value))
    after = loop.run_until_complete(_snapshot(harness.dispatcher.app.db))
    assert "something went wrong on our side" not in shown(reply), (action_id, value, shown(reply))
    if reply.error:
        assert after == before, (action_id, value, shown(reply))


@pytest.mark.parametrize("typed", ["/poll vote 1 ²", "/poll vote 1 ①", "/poll respond 2 ²", "/poll vote 1 ١"])
async def test_unicode_digits_get_a_clear_error(world: Harness, typed: str) -> None:
    reply = await world.run(typed, as_="maria")
    assert reply.error and "something went wrong" not in shown(reply), shown(reply)
    assert "is not one of the options" in shown(reply) or "from 1 (strongly disagree)" in shown(reply), shown(reply)


async def test_a_refused_click_does_not_make_the_clicker_a_member(world: Harness, db: Database) -> None:
    await world.run("/poll close 1")
    before = await _snapshot(db)
    reply = await world.click("poll:vote:1:1", as_="stranger")
    assert reply.error and "closed" in shown(reply), shown(reply)
    assert await _snapshot(db) == before


# Help says who may use each command; the checks must agree -----------------------------------

PLAIN_USE = {  # the command without what only coordinators may add
    ("coalition", "sectors"): "/coalition sectors",
    ("coalition", "digest"): "/coalition digest show",
    ("coalition", "page"): "/coalition page show",
}
RESTRICTED_PROBES = {  # an option or value help says is for coordinators, given by maria, a member
    ("coalition", "profile"): "/coalition profile --member @viewer --sector resident",
    ("coalition", "sectors"): "/coalition sectors --set resident,youth",
    ("coalition", "digest"): "/coalition digest off",
    ("coalition", "page"): "/coalition page on",
    ("poll", "create"): '/poll create "Lunch?" Soup Salad --public',
    ("poll", "when"): '/poll when "Lunch" "tue 12:00" "wed 12:00" --public',
    ("coalition", "language"): "/coalition language --default es",
    ("meeting", "reminders"): "/meeting reminders --nudge 24h",
    ("meeting", "feed"): "/meeting feed --public",
    ("decision", "propose"): '/decision propose "Paint the centre" --public',
}


@pytest.mark.parametrize("path", sorted(CASES))
async def test_help_says_who_may_use_each_command_and_the_checks_agree(world: Harness, path: tuple[str, ...]) -> None:
    """Maria is a member: not a coordinator, not a platform admin, and she created nothing in the
    world. What help tells her about each command is exactly what happens when she tries it."""
    help_text = shown(await world.run(f"/coalition help {' '.join(path)}", as_="maria"))
    who = help_text.rsplit("Who can use it: ", 1)[1]
    (_, where, text) = CASES[path][0]
    text = PLAIN_USE.get(path, text)
    reply = shown(await world.run(text, as_="maria", channel=where))
    refusals = {
        "coordinators": "Only coordinators can use",
        "the member who created it or a coordinator": "Only the member who created it or a coordinator can",
        "admins of this workspace or server": "Only admins of this workspace or server",
    }
    expected = next((refusal for group, refusal in refusals.items() if who.startswith(group)), None)
    if expected is not None:
        assert expected in reply, (who, reply)
    else:
        assert "⚠️ Only" not in reply, (who, reply)
    if "only coordinators:" in who:
        probe = RESTRICTED_PROBES[path]
        kept = who.split("only coordinators: ", 1)[1].rstrip(".")
        assert any(word.strip("`") in probe for word in kept.split(", ")), (kept, probe)
        assert "Only coordinators can use" in shown(await world.run(probe, as_="maria")), probe
    else:
        assert path not in RESTRICTED_PROBES
