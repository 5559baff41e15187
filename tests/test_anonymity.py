"""Anonymity, tested as the attackers of the threat model would attack it (README, "Anonymity").

Each test reads what an adversary can read (the database file and its WAL, the logs, the outbox,
the files on disk) and checks that it does not tie a member to a choice, an answer or a text.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import logging
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters import LIBRARIES, build_dispatcher
from bot import logs
from storage import Database
from tests.fakes.slack import form
from tests.harness import shown
from tests.messengers import MemoryPlatform
from tests.test_console import console, messages
from tests.test_slack import eventually, set_up, slack_env


def test_the_database_its_wal_and_exports_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Finding 10: coalition.db, -wal and -shm were created 0644, readable by every local user."""
    old = os.umask(0o022)  # the usual umask, under which SQLite alone makes 0644 files
    try:
        script = '/poll create "Venue?" Library Online --anonymous\n!click 1\n/poll close 1\n/poll export 1\n'
        out = messages(console(tmp_path, script, "console", "--json"))
    finally:
        os.umask(old)
    assert any("Venue?" in m["text"] for m in out)
    files = [tmp_path / "coalition.db", tmp_path / "coalition.db.secret"]
    files += [f for f in tmp_path.iterdir() if f.name.startswith("coalition.db-")]
    exports = tmp_path / "exports"
    files += list(exports.iterdir())
    assert len(files) >= 3, files
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, (file, oct(file.stat().st_mode))
    assert stat.S_IMODE(exports.stat().st_mode) == 0o700


async def test_a_running_databases_wal_and_shm_are_owner_only(tmp_path: Path) -> None:

    old = os.umask(0o022)
    try:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'live.db'}")
        await db.upgrade()
        async with db.engine.connect() as conn:  # held open: the WAL and SHM exist now
            await conn.execute(text("SELECT count(*) FROM polls"))
            live = [tmp_path / "live.db", tmp_path / "live.db-wal", tmp_path / "live.db-shm"]
            assert all(f.exists() for f in live)
            assert [stat.S_IMODE(f.stat().st_mode) for f in live] == [0o600] * 3
        await db.dispose()
    finally:
        os.umask(old)


async def test_a_newcomer_given_a_forgotten_members_id_cannot_reach_their_anonymous_vote(bot) -> None:
    """Finding 6: SQLite hands a forgotten member's id to the next newcomer; ballots keyed by an
    HMAC of the id let the newcomer see and change the forgotten member's anonymous vote."""

    await bot.run('/poll create "Trust the police?" Yes No --anonymous')
    await bot.click("poll:vote:1:1", as_="quinn")  # Quinn joins on this click, with the newest id
    async with bot.dispatcher.app.db.engine.connect() as conn:
        (quinn_id,) = (await conn.execute(text("SELECT id FROM members WHERE user_id = 'quinn'"))).one()
    asked = await bot.run("/coalition forget-me", as_="quinn")
    await bot.click(asked.buttons[0].action_id, as_="quinn")
    await bot.run("/coalition whoami", as_="rosa")
    async with bot.dispatcher.app.db.engine.connect() as conn:
        (rosa_id,) = (await conn.execute(text("SELECT id FROM members WHERE user_id = 'rosa'"))).one()
    # SQLite reuses the newest id once it is deleted (the attack's precondition); PostgreSQL's
    # sequence never does. Either way Rosa must not reach Quinn's ballot.
    assert (rosa_id == quinn_id) == bot.dispatcher.app.db.is_sqlite
    card = shown(await bot.run("/poll show 1", as_="rosa"))
    assert "Your vote: you have not voted." in card, card
    await bot.click("poll:vote:1:0", as_="rosa")
    async with bot.dispatcher.app.db.engine.connect() as conn:
        ballots = (await conn.execute(text("SELECT choices FROM ballots"))).all()
    assert len(ballots) == 2  # Quinn's No still counts; Rosa's Yes is her own ballot
    await bot.click("poll:vote:1:0", as_="sam")
    await bot.run("/poll close 1")
    final = shown(await bot.run("/poll results 1"))
    assert "1. Yes: 2 votes, 67% `███████░░░`" in final and "2. No: 1 vote, 33%" in final, final


async def test_feedback_leaves_no_name_in_logs_and_no_time_that_pairs_a_count_with_a_text(bot, caplog) -> None:
    """Finding 5: the log named the sender; each rate-limit row paired with its delivery by id and
    time, and its key was stable per member, grouping one member's texts across days."""

    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run("/coalition link --tags coordinators", channel="steering")
    clock = bot.dispatcher.app.clock
    caplog.set_level("DEBUG")
    logs.quiet_libraries(logging.DEBUG, LIBRARIES)  # as `coalition-bot run` does with LOG_LEVEL=DEBUG
    await bot.run('/coalition feedback "The 5pm forum shuts out parents"', as_="maria")
    clock.set(clock.now() + timedelta(minutes=4))
    await bot.run('/coalition feedback "Patrols ignore the east side"', as_="jamal")
    assert "maria" not in caplog.text and "jamal" not in caplog.text
    assert "/coalition feedback from console:someone" in caplog.text

    async def table(sql: str) -> list[tuple]:
        async with bot.dispatcher.app.db.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]

    deliveries = await table("SELECT created_at, not_before, dedupe_key FROM outbox WHERE source = 'feedback'")
    assert len(deliveries) == 2 and len({(c, n) for c, n, _ in deliveries}) == 1  # one batch time for both
    # Waiting for its batch, a text is sealed: a copy of the database does not read it (nor its length).
    payloads = [p for (p,) in await table("SELECT payload FROM outbox WHERE source = 'feedback'")]
    assert all(p.startswith("o1:") and "parents" not in p and "Patrols" not in p for p in payloads)
    assert len({len(p) for p in payloads}) == 1
    # Nothing but the two deliveries was written: no count, no key, no time beside a text.
    before = await _snapshot_without_outbox(bot)
    await bot.run('/coalition feedback "A third note"', as_="maria")
    assert await _snapshot_without_outbox(bot) == before
    # The limit still holds (three a day), and a new day starts a new count.
    await bot.run('/coalition feedback "A fourth"', as_="maria")
    refused = await bot.run('/coalition feedback "A fifth"', as_="maria")
    assert refused.error and "the limit is 3 a day" in shown(refused)
    clock.set(clock.now() + timedelta(days=1))
    assert not (await bot.run('/coalition feedback "Still true a day later"', as_="maria")).error
    await bot.dispatcher.app.scheduler.run_due()  # the batches went: the coordinators read the texts
    read = [shown(p.reply) for p in platform.posted]
    assert any("The 5pm forum shuts out parents" in r for r in read) and any("Patrols ignore" in r for r in read)


async def test_two_reminders_an_hour_apart_hold_no_count_to_compare(bot) -> None:
    """Finding 4: every reminder row held the tally of its moment; two reminders an hour apart told
    a reader of the outbox who voted in between and what."""
    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    for name in ("maria", "jamal", "lee"):
        await bot.run("/coalition whoami", as_=name)
    await bot.run('/poll create "Trust the police?" Yes No --anonymous --closes "in 3 days"')
    await bot.click("poll:vote:1:0", as_="maria")
    await bot.run("/poll remind 1")
    await bot.dispatcher.app.scheduler.run_due()  # the reminders are queued after the command
    clock = bot.dispatcher.app.clock
    clock.set(clock.now() + timedelta(hours=1, minutes=1))
    await bot.click("poll:vote:1:1", as_="jamal")
    await bot.run("/poll remind 1")
    await bot.dispatcher.app.scheduler.run_due()
    reminders = "SELECT payload FROM outbox WHERE kind = 'dm' AND dedupe_key LIKE 'poll:1:remind:%'"
    async with bot.dispatcher.app.db.engine.connect() as conn:
        payloads = [p for (p,) in (await conn.execute(text(reminders))).all()]
    assert len(payloads) >= 3  # admin, jamal, lee, then admin and lee
    for payload in payloads:
        assert "voter" not in payload and "%" not in payload and "░" not in payload and "█" not in payload, payload
    assert len({p for p in payloads}) == 1  # every reminder is the same ballot, whenever it was sent


async def test_a_vote_from_the_slack_app_home_is_confirmed_in_the_home_not_in_a_message(tmp_path: Path) -> None:
    """Finding 8: a vote cast from the App Home was confirmed by chat.postMessage to the member's
    DM ("Recorded in poll #1: Yes"), a message Slack keeps for good."""
    async with slack_env(tmp_path) as slack:
        await set_up(slack)
        await slack.command('/poll create "Trust the police?" Yes No --anonymous')
        await eventually(lambda: slack.fake.messages["C1"])
        click = slack.fake.block_actions("poll:vote:1:0", user="UMARIA", message_ts=None)
        click["container"] = {"type": "view", "view_id": "VHOME"}
        click.pop("channel")
        await slack.post(form(click))
        home = await eventually(lambda: [v for v in slack.fake.views_published if "Recorded" in json.dumps(v)])
        assert "Recorded in poll #1" in json.dumps(home[-1]["view"]["blocks"])
        posted = [m for channel, ms in slack.fake.messages.items() if channel.startswith("D") for m in ms]
        assert not any("Recorded" in (m.get("text") or "") for m in posted), posted


async def test_survey_figures_never_single_anyone_out(bot) -> None:
    """Finding 7: overall minus the shown sectors named a lone respondent in a hidden sector; moving
    a member into a sector of 4 known respondents read their answer off its average; a survey with
    one respondent showed the exact answer."""
    for n in range(5):
        await bot.run("/coalition profile --sector resident", as_=f"r{n}")
    await bot.run("/coalition profile --sector youth", as_="lone")
    await bot.run('/poll survey "Check-in" "I trust the police"')
    await bot.run("/poll respond 1 1", as_="lone")  # the lone youth answers 1
    for n in range(5):
        await bot.run("/poll respond 1 4", as_=f"r{n}")
    await bot.run("/poll close 1")
    results = shown(await bot.run("/poll results 1"))
    assert "by sector" not in results  # 6 overall - 5 residents would be the lone youth's answer
    # A coordinator moves the target into a sector of 4 respondents after they answered: the
    # answer stays counted under the sector it was given in.
    await bot.run('/poll survey "Check-in" "I trust the police"')
    for n in range(4):
        await bot.run("/coalition profile --sector school", as_=f"s{n}")
        await bot.run("/poll respond 2 5", as_=f"s{n}")
    await bot.run("/poll respond 2 1", as_="r0")
    await bot.run("/coalition profile --member @r0 --sector school")
    await bot.run("/poll respond 2 1", as_="r0")  # answering again keeps the first sector
    stored = await _all_rows(bot, "SELECT sector, answers FROM survey_responses WHERE poll_id = 2")
    assert len(stored) == 5 and all(
        sector.startswith("s2:") and answers.startswith("s2:") for sector, answers in stored
    )
    await bot.run("/poll close 2")
    moved = shown(await bot.run("/poll results 2"))
    # Had the move counted, school would hold 5 and be shown alone, its average 1.8 naming r0's 1.
    assert "5 respondents" in moved and "by sector" not in moved, moved
    assert await _all_rows(bot, "SELECT * FROM survey_responses WHERE poll_id = 2") == []
    await bot.run('/poll survey "One voice" "The lights are fixed"')
    await bot.run("/poll respond 3 2", as_="lone")
    await bot.run("/poll close 3")
    alone = shown(await bot.run("/poll results 3"))
    assert "Fewer than 5 respondents" in alone and "average" not in alone and "2:1" not in alone
    export = await bot.run("/poll export 3")
    assert "2.00" not in export.attachments[0].content.decode()


async def test_each_survey_figure_is_held_back_on_its_own_and_rounds_are_compared_only_when_safe(bot) -> None:
    """Round three's findings, played by a coordinator reading results: a suppressed round's lone
    answers came back as the next round's "on the last round" figure; a sector's average of one
    statement was shown from the one member of the sector who answered it; a round that differs
    from the last by one answer gave away that answer; and closing a second round while the first
    was still open read the first round's sealed answers as numbers (a crash)."""
    await bot.run('/poll survey "Check-in" "The lights are fixed"')
    await bot.run("/poll respond 1 1", as_="lone")  # alone in round 1: suppressed
    await bot.run('/poll survey "Check-in" "The lights are fixed"')  # round 2 while round 1 is open
    for n in range(5):
        await bot.run("/poll respond 2 4", as_=f"r{n}")
    closed = await bot.run("/poll close 2")
    assert not closed.error, shown(closed)  # it crashed here
    await bot.run("/poll close 1")
    second = shown(await bot.run("/poll results 2"))
    assert "average 4.0 of 5 (5 answers" in second and "on the last round" not in second, second
    # Round 3: one more respondent than round 2; the change would be the newcomer's answer.
    await bot.run('/poll survey "Check-in" "The lights are fixed"')
    for who, answer in [*((f"r{n}", 4) for n in range(5)), ("newcomer", 1)]:
        await bot.run(f"/poll respond 3 {answer}", as_=who)
    await bot.run("/poll close 3")
    third = shown(await bot.run("/poll results 3"))
    assert "6 answers" in third and "on the last round" not in third, third
    # A sector of 5 respondents, of whom one answered the second statement: no sector figure for it.
    for n in range(5):
        await bot.run("/coalition profile --sector youth", as_=f"y{n}")
    for n in range(5):
        await bot.run("/coalition profile --sector resident", as_=f"r{n}")
    await bot.run('/poll survey "Youth check-in" "Parks are safe" "The bus is on time"')
    for n in range(5):
        await bot.run(f"/poll respond 4 {3 if n else '3 1'}", as_=f"y{n}")  # only y0 answers the bus
        await bot.run("/poll respond 4 5 4", as_=f"r{n}")
    await bot.run("/poll close 4")
    fourth = shown(await bot.run("/poll results 4"))
    parks, bus = (line for line in fourth.splitlines() if line.startswith(("1.", "2.")))
    assert "by sector: resident 5.0, youth 3.0" in parks, parks
    assert "by sector" not in bus and "6 answers" in bus, bus  # youth's one answer (1) is not shown
    export = (await bot.run("/poll export 4")).attachments[0].content.decode()
    assert "youth" not in export.split("The bus is on time")[1].splitlines()[0]


async def test_a_sector_a_coordinator_set_counts_in_survey_figures_only_once_its_member_confirms_it(bot) -> None:
    """Puppets: four accounts a coordinator controls choose "school"; the coordinator moves the
    target into "school" and reads their answer off the sector's average. A sector set by someone
    else counts once the member confirms it."""
    for n in range(4):
        await bot.run("/coalition profile --sector school", as_=f"puppet{n}")
    for n in range(5):
        await bot.run("/coalition profile --sector resident", as_=f"r{n}")
    await bot.run("/coalition whoami", as_="target")
    await bot.run("/coalition profile --member @target --sector school")
    own = shown(await bot.run("/coalition profile", as_="target"))
    assert "A coordinator set your sector" in own and "/coalition profile --sector school" in own, own
    await bot.run('/poll survey "Check-in" "I feel safe"')
    for who in [*(f"puppet{n}" for n in range(4)), *(f"r{n}" for n in range(5))]:
        await bot.run("/poll respond 1 5", as_=who)
    await bot.run("/poll respond 1 1", as_="target")
    await bot.run("/poll close 1")
    results = shown(await bot.run("/poll results 1"))
    assert "school" not in results, results  # 4 who chose it: too few; the target is not one of them
    await bot.run("/coalition profile --sector school", as_="target")  # the target confirms it
    assert "A coordinator set" not in shown(await bot.run("/coalition profile", as_="target"))
    await bot.run('/poll survey "Check-in" "I feel safe"')
    for who in [*(f"puppet{n}" for n in range(4)), *(f"r{n}" for n in range(5)), "target"]:
        await bot.run("/poll respond 2 4", as_=who)
    await bot.run("/poll close 2")
    assert "school 4.0" in shown(await bot.run("/poll results 2"))


async def test_an_anonymous_card_moves_only_in_steps_of_three_voters(bot) -> None:
    """Finding 9: the card of an anonymous poll was redrawn after every vote, so someone who sees
    who clicks when (in the meeting room) read each choice off the next version of the card. And
    with one or two voters, the count itself says how they voted."""
    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run('/poll create "Trust the police?" Yes No --anonymous --live')
    scheduler = bot.dispatcher.app.scheduler
    versions = []

    async def vote(name: str, option: int) -> None:
        await bot.click(f"poll:vote:1:{option}", as_=name)
        clock = bot.dispatcher.app.clock
        await scheduler.advance_to(clock.now() + timedelta(seconds=2))
        card = next(p for p in platform.posted if p.key == "poll:1:post:1")
        versions.append(shown(card.edits[-1] if card.edits else card.reply))

    for n, option in enumerate([0, 1, 1, 0, 1, 1, 0]):
        await vote(f"v{n}", option)
    # Two voters in: no count at all; the third vote draws the first count; then only at six.
    assert all("%" not in v and "The count is shown once 3 have voted" in v for v in versions[:2])
    assert versions[2] != versions[1] and "3 voters at the last update" in versions[2]
    assert versions[2] == versions[3] == versions[4]  # votes 4 and 5 changed nothing anyone can see
    assert versions[5] != versions[4] and "6 voters at the last update" in versions[5]
    assert versions[6] == versions[5]
    results = shown(await bot.run("/poll results 1", as_="v0"))
    assert "6 voters at the last update" in results  # the command shows the same step, not the live count
    await bot.run("/poll close 1")
    assert "7 voters" in shown(await bot.run("/poll results 1"))


async def test_an_anonymous_poll_shows_no_figure_anywhere_until_it_closes_unless_live(bot) -> None:
    """Puppets: a coordinator with two accounts notes the count, lets the target vote, tops it up to
    the next step and subtracts. So an anonymous poll shows nothing of its count until it closes:
    not on its card, not in `/poll list` (it said "1 voters"), not to `/poll remind`'s requester,
    not in `/metrics`; a survey's card said "1 respondent" and was redrawn on every answer."""
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run('/poll create "Trust the police?" Yes No --anonymous')
    await bot.run('/poll survey "Check-in" "I feel safe"')
    scrape_before = app.metrics.exposition().decode()
    for n in range(7):
        await bot.click(f"poll:vote:1:{n % 2}", as_=f"v{n}")
        await bot.click("survey:answer:2:0", as_=f"v{n}", value="4")
    await bot.run("/poll vote 1 2", as_="typed")
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    cards = {p.key: [shown(r) for r in (p.reply, *p.edits)] for p in platform.posted if ":post:" in p.key}
    poll_card, survey_card = cards["poll:1:post:1"], cards["poll:2:post:1"]
    assert len(poll_card) == 1 and len(survey_card) == 1  # never redrawn while open: nothing on them moves
    assert "results shown when it closes" in poll_card[0] and "voter" not in poll_card[0]
    assert "respondent" not in survey_card[0]
    listed = shown(await bot.run("/poll list"))
    assert "Trust the police? (open; counted at close)" in listed and "voter" not in listed, listed
    assert (await bot.run("/poll results 1")).error
    # Nothing of the votes reached the metrics: no count of clicks or votes moved with them.
    scrape_after = app.metrics.exposition().decode()
    moved = [line for line in scrape_after.splitlines() if "vote" in line or 'kind="click"' in line]
    assert moved == [line for line in scrape_before.splitlines() if "vote" in line or 'kind="click"' in line], moved
    await bot.run("/poll close 1")
    assert "8 voters" in shown(await bot.run("/poll results 1"))
    # --live: the stepped count, and the card says what it costs.
    await bot.run('/poll create "Lights first?" Yes No --anonymous --live')
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    live = next(shown(p.reply) for p in platform.posted if p.key == "poll:3:post:1")
    assert "someone who controls several accounts can still tell votes apart" in live
    refused = await bot.run('/poll create "Open?" Yes No --live')
    assert refused.error and "--live is for anonymous polls" in shown(refused)


async def test_the_engagement_report_counts_an_anonymous_polls_ballots_only_once_it_closes(bot) -> None:
    """A coordinator who asks for the report after each vote read each vote off its participation
    figure; and once a poll closed its ballots were deleted, so the report forgot them."""
    from tests.test_reports import advance

    for n in range(5):
        await bot.run("/coalition whoami", as_=f"m{n}")
    await bot.run('/poll create "Trust?" Yes No --anonymous')
    await bot.click("poll:vote:1:0", as_="m0")
    await bot.click("poll:vote:1:1", as_="m1")
    await advance(bot, timedelta(days=1))
    before = shown(await bot.run("/coalition report"))
    assert "Poll participation 0%" in before, before
    await bot.click("poll:vote:1:0", as_="m2")
    await advance(bot, timedelta(days=1))
    assert "Poll participation 0%" in shown(await bot.run("/coalition report"))  # not while open
    await bot.run("/poll close 1")
    await advance(bot, timedelta(days=1))
    assert "Poll participation 50%" in shown(await bot.run("/coalition report"))  # 3 of 6: not lost at close


async def test_an_anonymous_poll_with_fewer_than_three_voters_shows_no_count(bot) -> None:
    await bot.run('/poll create "Close the park at night?" Yes No --anonymous')
    await bot.click("poll:vote:1:1", as_="maria")
    await bot.click("poll:vote:1:0", as_="jamal")
    await bot.run("/poll close 1")
    results = shown(await bot.run("/poll results 1"))
    assert "Fewer than 3 voted, so no count is shown" in results and "50%" not in results
    export = (await bot.run("/poll export 1")).attachments[0].content.decode()
    rows = list(csv.DictReader(io.StringIO(export)))
    assert len(rows) == 2 and all(row["voters"] == "" and row["votes"] == "" for row in rows), rows


async def _snapshot_without_outbox(bot) -> dict[str, list[str]]:
    from sqlalchemy import inspect

    async with bot.dispatcher.app.db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        return {
            n: sorted(repr(tuple(r)) for r in (await conn.execute(text(f"SELECT * FROM {n}"))).all())
            for n in names
            if n not in ("outbox", "handled_requests")
        }


async def _all_rows(bot, sql: str) -> list[tuple]:
    async with bot.dispatcher.app.db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_a_copy_of_the_database_without_the_secret_names_no_voters_choice(bot) -> None:
    """Findings 1-3: ballot cells in insertion order beside members who joined by voting (SQLite),
    and a ballot's xmin beside its new member's (PostgreSQL), named every voter, because each
    ballot's choice was plain text. Sealed, the order or xmin may say who voted, never what."""
    from bot.sealing import SealProblem, unwrap

    await bot.run('/poll create "Trust the police?" Yes No Unsure --anonymous')
    for n in range(8):
        await bot.click(f"poll:vote:1:{n % 3}", as_=f"resident{n}")  # each joins with this vote
    order = "xmin::text::bigint" if not bot.dispatcher.app.db.is_sqlite else "rowid"
    members = await _all_rows(bot, f"SELECT id, {order} FROM members WHERE user_id LIKE 'resident%' ORDER BY 2")
    ballots = await _all_rows(bot, "SELECT voter_key, choices FROM ballots WHERE poll_id = 1")
    assert len(members) == len(ballots) == 8
    # The attacker's best pairing (by order, or by transaction id) gives ballots, but each choice is
    # ciphertext: no option number, no two alike, and the poll's key does not open without the secret.
    assert all(c.startswith("s2:") and c not in ("0", "1", "2") for _, c in ballots)
    assert len({c for _, c in ballots}) == 8
    (wrapped,) = (await _all_rows(bot, "SELECT wrapped FROM poll_keys WHERE poll_id = 1"))[0]
    with pytest.raises(SealProblem):
        unwrap(wrapped, "a guessed secret, not the real one!", 1)
    # The operator holding the secret could open them while the poll is open (the README says so);
    # once it closes, nothing is left to open: the count stays, ballots and keys are gone.
    await bot.run("/poll close 1")
    assert await _all_rows(bot, "SELECT * FROM ballots WHERE poll_id = 1") == []
    assert await _all_rows(bot, "SELECT * FROM poll_keys") == []
    assert "8 voters" in shown(await bot.run("/poll results 1"))


async def test_after_close_not_even_the_operator_with_the_secret_can_link(bot) -> None:
    """The operator holds the database file, its WAL and the secret. Before close they could have
    opened the ballots; after close no byte of the ballots or the poll's key is left in either file."""
    from storage.database import sqlite_path

    await bot.run('/poll create "Venue?" Library Online --anonymous')
    for n in range(5):
        await bot.click(f"poll:vote:1:{n % 2}", as_=f"voter{n}")
    sealed = [c for (c,) in await _all_rows(bot, "SELECT choices FROM ballots")]
    (wrapped,) = (await _all_rows(bot, "SELECT wrapped FROM poll_keys"))[0]
    assert len(sealed) == 5
    await bot.run("/poll close 1")
    assert await _all_rows(bot, "SELECT count(*) FROM ballots") == [(0,)]
    assert await _all_rows(bot, "SELECT count(*) FROM poll_keys") == [(0,)]
    path = sqlite_path(bot.dispatcher.app.db.url)
    if path is None or not bot.dispatcher.app.db.is_sqlite:
        return  # PostgreSQL: the rows are gone and the key table rewritten (VACUUM FULL)
    files = [path, path.with_name(path.name + "-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    for secret in [wrapped, *sealed]:
        assert secret.encode() not in raw, "a deleted ballot or key is still on disk"


async def test_an_erasure_a_reader_holds_up_is_reported_and_finished_never_silently_lost(
    bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin's `sqlite3` shell (or an online backup, or a second process) holds a read: the
    checkpoint that empties the WAL at close returned "busy", the close said nothing, and the WAL
    kept the poll's keys and ballots. Now a marker and the doctor say so, and the housekeeping
    finishes the erasure once the reader lets go."""
    import sqlite3

    from bot.due import PendingErasure
    from bot.services.doctor import DoctorService
    from storage.database import sqlite_path

    app = bot.dispatcher.app
    path = sqlite_path(app.db.url)
    if path is None or not app.db.is_sqlite:
        return  # PostgreSQL has no write-ahead log file to hold: VACUUM FULL rewrites the key table
    monkeypatch.setattr("storage.database.CHECKPOINT_WAIT_MS", 100)  # the reader never lets go in time
    await bot.run('/poll create "Venue?" Library Online --anonymous')
    for n in range(4):
        await bot.click(f"poll:vote:1:{n % 2}", as_=f"voter{n}")
    (wrapped,) = (await _all_rows(bot, "SELECT wrapped FROM poll_keys"))[0]
    shell = sqlite3.connect(path)
    shell.execute("BEGIN")
    shell.execute("SELECT count(*) FROM ballots").fetchone()  # a read snapshot, held open
    try:
        await bot.run("/poll close 1")
        marker = path.with_name(path.name + ".erase-pending")
        assert marker.exists(), "the erasure failed silently"
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 0  # what the reader holds is still there, and now it is known
        async with app.unit_of_work() as services:
            found = await DoctorService(services.repos, app.clock, {}).problems()
        assert any(line.startswith("Erasure: since ") for line in found), found
        keeper = PendingErasure(app)
        assert await keeper.run_due(app.clock.now()) == 0  # still held: tried, still waiting
        assert marker.exists()
    finally:
        shell.rollback()
        shell.close()
    assert await keeper.run_due(app.clock.now() + PendingErasure.EVERY) == 1
    assert not marker.exists() and (not wal.exists() or wal.stat().st_size == 0)
    raw = b"".join(f.read_bytes() for f in (path, wal) if f.exists())
    assert wrapped.encode() not in raw
    async with app.unit_of_work() as services:
        assert not any(
            line.startswith("Erasure") for line in await DoctorService(services.repos, app.clock, {}).problems()
        )


async def test_no_commit_holds_both_a_newcomer_and_their_anonymous_vote_or_feedback(bot) -> None:
    """Played as someone who copies the database after every commit (or reads PostgreSQL's xmin):
    a member whose first act was a vote, a survey answer or feedback joined in that act's commit,
    so the commit named them beside their ballot, and beside the text of their feedback."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from storage.database import sqlite_path

    app = bot.dispatcher.app
    await bot.run('/poll create "Venue?" Library Online --anonymous')
    await bot.run('/poll survey "Check-in" "I feel safe"')
    await bot.run("/coalition link --tags coordinators", channel="coordinators")
    path = sqlite_path(app.db.url) if app.db.is_sqlite else None
    counted = "SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM ballots), " + (
        "(SELECT count(*) FROM survey_responses), (SELECT count(*) FROM outbox WHERE source = 'feedback')"
    )
    commits: list[tuple[int, ...]] = []

    def snapshot(session: Session) -> None:  # what a copy taken right after this commit holds
        if path is not None:
            import sqlite3

            with contextlib.closing(sqlite3.connect(path)) as copy:
                commits.append(tuple(copy.execute(counted).fetchone()))

    event.listen(Session, "after_commit", snapshot)
    try:
        await bot.click("poll:vote:1:0", as_="newcomer1")  # a click (written in a batch)
        await bot.run("/poll vote 1 2", as_="newcomer2")  # a typed vote
        await bot.click("survey:answer:2:0", as_="newcomer3", value="4")
        await bot.run('/coalition feedback "The patrols skip Elm St"', as_="newcomer4")
        refused = await bot.run("/poll vote 1 7", as_="newcomer5")  # refused: no option 7
    finally:
        event.remove(Session, "after_commit", snapshot)
    assert refused.error
    async with app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(bot.where("general"))).coalition
        names = {m.user_id for m in await services.repos.broadcasts.members(coalition.id)}  # type: ignore[union-attr]
    assert {"newcomer1", "newcomer2", "newcomer3", "newcomer4"} <= names and "newcomer5" not in names
    if path is None:  # PostgreSQL: every newcomer's row was written by another transaction than any ballot
        members = {x for (x,) in await _all_rows(bot, "SELECT xmin::text FROM members WHERE user_id LIKE 'newcomer%'")}
        acts = {
            x
            for (x,) in await _all_rows(
                bot, "SELECT xmin::text FROM ballots UNION SELECT xmin::text FROM survey_responses"
            )
        }
        assert members and acts and not members & acts
        return
    for before, after in itertools.pairwise(commits):
        joined = after[0] > before[0]
        acted = any(a > b for a, b in zip(after[1:], before[1:], strict=True))
        assert not (joined and acted), f"one commit holds a new member and an anonymous act: {before} -> {after}"
    assert sum(1 for b, a in itertools.pairwise(commits) if a[0] > b[0]) >= 4  # each joined apart


async def test_replaying_the_wal_vote_by_vote_shows_no_choice(bot) -> None:
    """Finding 2: replaying the running database's WAL commit by commit showed each ballot beside
    the voter's new member row and the card edit whose tally had moved by that very choice. Here the
    attacker snapshots the file and its WAL after every vote and diffs what any page holds."""
    import re

    from storage.database import sqlite_path

    path = sqlite_path(bot.dispatcher.app.db.url)
    if path is None or not bot.dispatcher.app.db.is_sqlite:
        return  # the WAL attack is SQLite's; PostgreSQL's counterpart (xmin) is tested above
    platform = MemoryPlatform()
    bot.dispatcher.app.add_messenger(platform)
    await bot.run('/poll create "Trust the police?" Yes No --anonymous --live')
    tally = re.compile(rb"(\d)\. [^:\"]+: (\d+) votes?, (\d+)%")
    seen: list[set[bytes]] = []
    for n, option in enumerate([0, 1, 0, 0, 1, 1, 0]):
        await bot.click(f"poll:vote:1:{option}", as_=f"walker{n}")
        await bot.dispatcher.app.scheduler.advance_to(bot.dispatcher.app.clock.now() + timedelta(seconds=2))
        raw = b"".join(f.read_bytes() for f in (path, path.with_name(path.name + "-wal")) if f.exists())
        seen.append({m.group(0) for m in tally.finditer(raw)})
        assert b"walker" not in raw or all(
            c.startswith("s2:") for (c,) in await _all_rows(bot, "SELECT choices FROM ballots")
        )
    new = [seen[i] - (seen[i - 1] if i else set()) for i in range(len(seen))]
    # Tallies appear on disk only when the third and the sixth voter voted, never after one vote.
    assert [bool(n) for n in new] == [False, False, True, False, False, True, False], new


async def test_an_open_anonymous_count_kept_in_memory_equals_every_ballot_opened(bot, tmp_path: Path) -> None:
    """The live count of a sealed poll is kept in this process's memory (scale: opening 100,000
    ballots every three voters). Compared with opening every ballot after each vote, changed votes
    included; a transaction that rolls back leaves it untouched; and a second process's votes (a
    second App on the same file, with its own memory) are counted once the first sees them stored."""
    import random

    from bot.app import App

    app = bot.dispatcher.app
    await bot.run('/poll create "Which first?" Lighting Housing Transit --anonymous --live')

    async def both() -> tuple[list[int], list[int]]:
        async with app.unit_of_work() as services:
            poll = await services.polls.find(1, 1)
            assert poll is not None
            kept = await services.polls.results(poll)
            exact = await services.polls.results(poll, exact=True)
        return kept.counts, exact.counts

    chance = random.Random(17)
    for n in range(40):
        await bot.click(f"poll:vote:1:{chance.randrange(3)}", as_=f"v{chance.randrange(15)}")  # some change
        kept, exact = await both()
        assert kept == exact, (n, kept, exact)
    assert app.sealed_tallies.get(1) is not None  # counted from memory, not by opening every ballot

    # A vote in a transaction that is rolled back reaches neither the database nor the memory.
    before = await both()
    async with app.unit_of_work() as services:
        poll = await services.polls.find(1, 1)
        member = await services.coalitions.member_for(
            (await services.coalitions.resolve(bot.where("general"))).coalition,
            bot.actor("late"),  # type: ignore[arg-type]
        )
        await services.polls.vote(poll, member, [2])  # type: ignore[arg-type]
        await services.rollback()
    assert await both() == before

    # Another process votes on the same database: this one's memory no longer matches the ballots
    # stored, so it is rebuilt, and still equals every ballot opened.
    other = App(app.settings, Database(app.db.url), app.clock)
    other_bot = type(bot)(build_dispatcher(other))
    for n in range(5):
        await other_bot.click(f"poll:vote:1:{n % 3}", as_=f"elsewhere{n}")
    kept, exact = await both()
    assert kept == exact and sum(exact) >= 5
    await other.close()


async def test_a_sealed_ballots_size_says_nothing_of_what_was_chosen(bot) -> None:
    """Played with a copy of the database and no secret: AES-GCM keeps a plaintext's length, so
    before padding one option ("3") sealed shorter than five ("0,1,2,3,4") or a two-digit one
    ("11"). Every ballot, survey answer and sector of a poll now seals to one length."""
    options = " ".join(f'"Option {n}"' for n in range(1, 15))
    assert not (await bot.run(f'/poll create "Budget items?" {options} --kind multiple --anonymous')).error
    choices = {"ana": "4", "ben": "1 2 3 4 5", "cy": "12", "dee": "1 12 14", "eli": "14"}
    for who, picked in choices.items():
        assert not (await bot.run(f"/poll vote 1 {picked}", as_=who)).error, who
    sealed = [c for (c,) in await _all_rows(bot, "SELECT choices FROM ballots WHERE poll_id = 1")]
    assert len(sealed) == len(choices) and len({len(c) for c in sealed}) == 1, sorted(len(c) for c in sealed)
    assert not (await bot.run('/poll survey "Trust" "Police listen" "Meetings help"')).error
    for who, answer in (("ana", "1"), ("ben", "5"), ("cy", "3")):
        await bot.run("/coalition sector resident", as_=who)
        assert not (await bot.click("survey:answer:2:0", as_=who, value=answer)).error, who
    answers = await _all_rows(bot, "SELECT sector, answers FROM survey_responses")
    lengths = {len(a) for _s, a in answers} | {len(s) for s, _a in answers if s}
    assert len(lengths) == 1, lengths
