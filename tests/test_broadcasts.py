from __future__ import annotations

from datetime import timedelta

import pytest

from adapters import build_dispatcher
from bot import markup
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from storage import Database
from tests.conftest import START
from tests.harness import Harness, shown
from tests.messengers import MemoryPlatform


@pytest.fixture
async def coalition(bot: Harness) -> tuple[Harness, MemoryPlatform]:
    """#general, #eastside (residents, youth) and #police (police) linked; deliveries recorded."""
    platform = MemoryPlatform("console")
    bot.dispatcher.app.add_messenger(platform)
    assert not (await bot.run("/coalition link --tags residents,youth", channel="eastside")).error
    assert not (await bot.run("/coalition link --tags police", channel="police")).error
    return bot, platform


async def deliver(bot: Harness, until: timedelta = timedelta(seconds=5)) -> None:
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + until)


async def test_send_reaches_every_linked_channel_once(coalition) -> None:
    bot, platform = coalition
    reply = await bot.run('/broadcast send "Community walk moved to Saturday"')
    assert not reply.error and reply.private
    assert "Broadcast #1 goes to 3 channels now" in shown(reply)
    await deliver(bot)
    channel_posts = [p for p in platform.posted if not p.target.startswith("dm:")]
    assert sorted(p.target for p in channel_posts) == ["eastside", "general", "police"]
    assert all("Community walk moved to Saturday" in bot.show(p.reply) for p in channel_posts)
    assert [b.label for b in channel_posts[0].reply.buttons] == ["Acknowledge"]
    await deliver(bot, timedelta(minutes=10))
    assert len([p for p in platform.posted if not p.target.startswith("dm:")]) == 3


async def test_the_sender_gets_a_report_that_updates(coalition) -> None:
    bot, platform = coalition
    await bot.run('/broadcast send "Update"')
    await deliver(bot)
    report = next(p for p in platform.posted if p.target == "dm:admin")
    final = report.edits[-1].text if report.edits else report.reply.text
    assert final == "📬 Broadcast #1: delivered 3 of 3 channels. Done."


async def test_tags_pick_channels_and_unknown_tags_are_named(coalition) -> None:
    bot, platform = coalition
    reply = await bot.run('/broadcast send "Youth forum tonight" --to youth')
    assert "goes to 1 channel tagged youth" in shown(reply)
    await deliver(bot)
    assert [p.target for p in platform.posted if not p.target.startswith("dm:")] == ["eastside"]
    bad = await bot.run('/broadcast send "x" --to teachers')
    assert bad.error
    assert "No linked channel has the tag 'teachers'. Tags in use: police, residents, youth." in shown(bad)


async def test_scheduled_broadcast_goes_out_at_its_time(coalition) -> None:
    bot, platform = coalition
    reply = await bot.run('/broadcast send "Grant deadline Friday" --to police --at "in 2 hours"')
    assert "at Mon 23 Nov 2026, 11:00 UTC" in shown(reply)
    await deliver(bot, timedelta(hours=1))
    assert platform.posted == []
    await deliver(bot, timedelta(hours=2))
    assert [p.target for p in platform.posted if not p.target.startswith("dm:")] == ["police"]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ('/broadcast send ""', "TEXT is missing"),
        ("/broadcast send " + "x" * 2001, "2001 characters long; the limit is 2000"),
        ('/broadcast send "x" --at yesterday', "in the past"),
        ('/broadcast send "x" --at "blorp"', "couldn't read"),
        ("/broadcast status 99", "There is no broadcast #99"),
        ("/broadcast cancel abc", "'abc' is not a whole number"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(coalition, command: str, says: str) -> None:
    bot, platform = coalition
    reply = await bot.run(command)
    assert reply.error and says in shown(reply)
    await deliver(bot)
    assert platform.posted == []


async def test_only_coordinators_broadcast(coalition) -> None:
    bot, platform = coalition
    reply = await bot.run('/broadcast send "hi"', as_="maria")
    assert reply.error and "Only coordinators can use /broadcast send" in shown(reply)
    await deliver(bot)
    assert platform.posted == []


async def test_mass_mentions_stay_user_text(coalition) -> None:
    bot, platform = coalition
    await bot.run('/broadcast send "@everyone <!channel> **urgent**" --to police')
    await deliver(bot)
    text = platform.to("police")[0].reply.text
    assert markup.user_text("@everyone <!channel> **urgent**") in text


async def test_acknowledgements_once_each_and_status_by_channel_and_sector(coalition) -> None:
    bot, _ = coalition
    await bot.run('/broadcast send "Read me"')
    await deliver(bot)
    first = await bot.click("broadcast:ack:1", as_="maria", channel="eastside")
    assert "acknowledgement of broadcast #1 is recorded" in shown(first)
    again = await bot.click("broadcast:ack:1", as_="maria", channel="eastside")
    assert "You already acknowledged broadcast #1" in shown(again)
    await bot.click("broadcast:ack:1", as_="officer", channel="police")
    status = shown(await bot.run("/broadcast status 1"))
    assert "Delivered 3 · pending 0 · failed 0 · cancelled 0" in status
    assert "• #eastside on console: delivered" in status
    assert "Acknowledged by 2 members" in status
    assert "By channel: #eastside 1, #police 1" in status
    assert "By sector: no sector given 2" in status
    assert (await bot.run("/broadcast status 1", as_="maria")).error
    stale = await bot.click("broadcast:ack:42", as_="maria")
    assert stale.error and "no longer exists" in shown(stale)


async def test_status_shows_failures_with_their_reason(coalition) -> None:
    bot, platform = coalition
    platform.fail_next("gone")
    await bot.run('/broadcast send "x" --to police')
    await deliver(bot)
    status = shown(await bot.run("/broadcast status 1"))
    assert "• #police on console: failed: channel_not_found" in status
    report = next(p for p in platform.posted if p.target == "dm:admin")
    final = report.edits[-1].text if report.edits else report.reply.text
    assert "delivered 0 of 1 channel, 1 failed" in final


async def test_cancel_withdraws_what_has_not_gone_out(coalition) -> None:
    bot, platform = coalition
    await bot.run('/broadcast send "later" --at "in 1 hour"')
    reply = await bot.run("/broadcast cancel 1")
    assert "withdrawn from 3 channels" in shown(reply)
    await deliver(bot, timedelta(hours=2))
    assert [p for p in platform.posted if not p.target.startswith("dm:")] == []
    again = await bot.run("/broadcast cancel 1")
    assert again.error and "already cancelled" in shown(again)
    await bot.run('/broadcast send "now"')
    await deliver(bot)
    late = await bot.run("/broadcast cancel 2")
    assert late.error and "already gone out to every channel" in shown(late)


async def test_nudge_reminds_only_those_who_have_not_acknowledged(coalition) -> None:
    bot, platform = coalition
    for name in ("maria", "officer", "pastor"):
        await bot.run("/coalition whoami", as_=name)
    await bot.run('/broadcast send "Read me"')
    await deliver(bot)
    await bot.click("broadcast:ack:1", as_="maria", channel="eastside")
    reply = await bot.run("/broadcast nudge 1")
    assert "Reminding those who have not acknowledged broadcast #1" in shown(reply)
    await deliver(bot)
    assert sorted(p.target for p in platform.posted if p.key.startswith("broadcast:1:nudge")) == [
        "dm:officer",
        "dm:pastor",
    ]
    told = [shown(p.reply) for p in platform.posted if p.key.startswith("fanout:")]
    assert told == ["Reminded 2 members privately to acknowledge broadcast #1."]
    too_soon = await bot.run("/broadcast nudge 1")
    assert too_soon.error
    assert "Members were reminded just now; you can remind them again in 1 hour." in bot.show(too_soon)


async def test_unlinking_withdraws_queued_messages_for_that_channel(coalition) -> None:
    bot, platform = coalition
    await bot.run('/broadcast send "later" --at "in 1 hour"')
    reply = await bot.run("/coalition unlink", channel="police")
    assert "1 queued message for it was withdrawn" in shown(reply)
    await deliver(bot, timedelta(hours=2))
    assert sorted(p.target for p in platform.posted if not p.target.startswith("dm:")) == ["eastside", "general"]


async def test_list_shows_recent_broadcasts(coalition) -> None:
    bot, _ = coalition
    assert "No broadcasts yet" in shown(await bot.run("/broadcast list", as_="maria"))
    await bot.run('/broadcast send "First update"')
    await deliver(bot)
    listing = shown(await bot.run("/broadcast list", as_="maria"))
    assert "#1" in listing and "First update (delivered 3 of 3; 0 acknowledged)" in listing


async def test_join_codes_bring_another_platform_in(coalition) -> None:
    bot, _ = coalition
    invite = shown(await bot.run("/coalition invite"))
    code = invite.split("`")[1]
    discord = Harness(bot.dispatcher, platform="discord", workspace="G1")
    refused = await discord.run(f"/coalition join {code}", as_="100", channel="200")
    assert refused.error and "Only admins of this workspace or server" in shown(refused)
    wrong = await discord.run("/coalition join AAAA-BBBB-CCCC", as_="100", channel="200", admin=True)
    assert wrong.error and "not right" in shown(wrong)
    joined = await discord.run(f"/coalition join {code.lower()}", as_="100", channel="200", admin=True)
    assert not joined.error and "has joined Our coalition" in shown(joined)
    channels = shown(await bot.run("/coalition channels"))
    assert "#200 on discord" in channels
    other = Harness(bot.dispatcher, platform="slack", workspace="T9")
    reused = await other.run(f"/coalition join {code}", as_="U1", channel="C1", admin=True)
    assert reused.error and "already been used" in shown(reused)


async def test_join_codes_expire(coalition, clock: SimulatedClock) -> None:
    bot, _ = coalition
    code = shown(await bot.run("/coalition invite")).split("`")[1]
    clock.set(START + timedelta(hours=25))
    slack = Harness(bot.dispatcher, platform="slack", workspace="T1")
    late = await slack.run(f"/coalition join {code}", as_="U1", channel="C1", admin=True)
    assert late.error and "expired" in shown(late)


async def test_a_broadcast_from_one_process_is_delivered_by_the_other_platforms_process(
    coalition, db: Database
) -> None:
    """Created where only the console delivers; the Discord channels are served by another app."""
    bot, console_platform = coalition
    code = shown(await bot.run("/coalition invite")).split("`")[1]
    discord_side = Harness(bot.dispatcher, platform="discord", workspace="G1")
    await discord_side.run(f"/coalition join {code}", as_="100", channel="200", admin=True)
    await bot.run('/broadcast send "Both platforms, one broadcast"')

    other_db = Database(db.url)
    discord_process = App(Settings(database_url=db.url), other_db, bot.dispatcher.app.clock)
    discord_platform = MemoryPlatform("discord")
    discord_process.add_messenger(discord_platform)
    build_dispatcher(discord_process)
    try:
        await deliver(bot)  # the console process: console channels only
        assert discord_platform.posted == []
        await discord_process.scheduler.run_due()
        assert [p.target for p in discord_platform.posted] == ["200"]
        assert sorted(p.target for p in console_platform.posted if not p.target.startswith("dm:")) == [
            "eastside",
            "general",
            "police",
        ]
    finally:
        await other_db.dispose()
