from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import select

from adapters import PLATFORMS
from bot.permissions import Permission
from bot.replies import Reply
from commands import build_registry
from commands.context import CommandContext
from commands.dispatcher import Dispatcher
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope
from storage.models import Channel, Coalition, Member
from tests.harness import Harness, shown


async def count(dispatcher: Dispatcher, model) -> int:
    async with dispatcher.app.db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_help_works_anywhere_even_outside_a_coalition(dispatcher: Dispatcher) -> None:
    stranger = Harness(dispatcher, platform="slack", workspace="T-NEW")
    reply = await stranger.run("/coalition help", channel="C1")
    assert not reply.error and reply.private
    assert "/coalition link" in shown(reply)
    assert await count(dispatcher, Member) == 0


async def test_unknown_space_gets_set_up_guidance_and_nothing_is_written(dispatcher: Dispatcher) -> None:
    stranger = Harness(dispatcher, platform="slack", workspace="T-NEW")
    reply = await stranger.run("/coalition channels", channel="C1")
    assert reply.error
    assert "isn't part of a coalition yet" in shown(reply)
    assert "/coalition setup" in shown(reply)
    assert await count(dispatcher, Coalition) == 0


async def test_setup_needs_a_platform_admin(dispatcher: Dispatcher) -> None:
    slack = Harness(dispatcher, platform="slack", workspace="T1")
    refused = await slack.run('/coalition setup "Eastside"', as_="U2", channel="C1")
    assert refused.error and "Only admins of this workspace or server" in shown(refused)
    assert await count(dispatcher, Coalition) == 0
    done = await slack.run('/coalition setup "Eastside"', as_="U1", channel="C1", admin=True)
    assert not done.error, shown(done)
    assert "Eastside" in shown(done)
    again = await slack.run('/coalition setup "Other"', as_="U1", channel="C1", admin=True)
    assert again.error and "already belongs to Eastside" in shown(again)
    me = await slack.run("/coalition whoami", as_="U1", channel="C1")
    assert "a coordinator of Eastside" in shown(me)


async def test_platform_admins_join_as_coordinators(dispatcher: Dispatcher) -> None:
    slack = Harness(dispatcher, platform="slack", workspace="T1")
    await slack.run('/coalition setup "Eastside"', as_="U1", channel="C1", admin=True)
    assert "a coordinator" in shown(await slack.run("/coalition whoami", as_="U9", channel="C1", admin=True))
    assert "a member" in shown(await slack.run("/coalition whoami", as_="U8", channel="C1"))


async def test_unlinked_channel_gets_guidance(bot: Harness) -> None:
    reply = await bot.run("/coalition unlink", channel="random")
    assert reply.error
    assert "isn't linked to Our coalition yet" in shown(reply)
    assert "/coalition link" in shown(reply)


async def test_members_are_refused_coordinator_commands_with_who_can(bot: Harness) -> None:
    reply = await bot.run("/coalition link", as_="bob", channel="random")
    assert reply.error
    assert shown(reply).startswith("⚠️ Only coordinators can use /coalition link.")
    assert "Coordinators here: admin" in shown(reply)
    assert "random" not in [c.channel_id for c in await _channels(bot)]


async def test_link_channels_and_list_them(bot: Harness) -> None:
    linked = await bot.run("/coalition link --tags residents,youth", channel="eastside")
    assert not linked.error and not linked.private
    assert "residents, youth" in shown(linked)
    again = await bot.run("/coalition link", channel="eastside")
    assert again.error and "already linked" in shown(again)
    listing = shown(await bot.run("/coalition channels", as_="bob"))
    assert "#general on console" in listing
    assert "#eastside on console (tags: residents, youth)" in listing
    unlinked = await bot.run("/coalition unlink", channel="eastside")
    assert not unlinked.error
    assert [c.channel_id for c in await _channels(bot)] == ["general"]


async def test_timezone_is_stored_and_used_to_read_times(bot: Harness) -> None:
    bad = await bot.run("/coalition timezone Europe/Berlinn", as_="maria")
    assert bad.error and "Did you mean Europe/Berlin" in shown(bad)
    ok = await bot.run("/coalition timezone europe/berlin", as_="maria")
    assert "Europe/Berlin" in shown(ok)
    shown_now = shown(await bot.run("/coalition timezone", as_="maria"))
    assert "Europe/Berlin (yours)" in shown_now
    zone = await bot.dispatcher.viewer_zone(bot.actor("maria"), bot.where("general"))
    assert zone == ZoneInfo("Europe/Berlin")


async def test_usage_errors_are_private_and_show_usage(bot: Harness) -> None:
    reply = await bot.run("/coalition link --tagz x")
    assert reply.error and reply.private
    assert "Did you mean '--tags'?" in shown(reply)
    assert "Usage: `/coalition link [--tags TAGS] [--language LANGUAGE]`" in shown(reply)


async def test_an_error_reply_writes_nothing(dispatcher: Dispatcher) -> None:
    """A member's first command creates their row; when that command fails, even that is undone."""
    harness = Harness(dispatcher)
    await harness.start()
    before = await count(dispatcher, Member)
    reply = await harness.run("/coalition link", as_="newcomer", channel="random")
    assert reply.error
    assert await count(dispatcher, Member) == before


async def test_a_crash_is_a_friendly_message_and_rolls_back(app, caplog) -> None:
    async def crashing(ctx: CommandContext) -> Reply:
        await ctx.services.coalitions.link(ctx.place.space, ctx.where, ["half"])
        raise RuntimeError("database on fire")

    registry = build_registry()
    registry.add(
        CommandSpec(
            "boom",
            "Crashes",
            handler=crashing,
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            options=(OptionSpec("x", OptionType.STRING, "x", positional=True),),
        )
    )
    harness = Harness(Dispatcher(app, registry, PLATFORMS))
    await harness.start()
    reply = await harness.run("/boom x", channel="random")
    assert reply.error
    text = shown(reply)
    assert "something went wrong on our side" in text and "Nothing was changed" in text
    assert "Traceback" not in text and "database on fire" not in text
    assert "database on fire" in caplog.text
    assert await count(harness.dispatcher, Channel) == 1


async def test_buttons_route_to_their_handlers(bot: Harness) -> None:
    overview = await bot.run("/coalition help")
    assert [b.action_id for b in overview.buttons] == [
        "help:show:broadcast",
        "help:show:coalition",
        "help:show:decision",
        "help:show:goal",
        "help:show:meeting",
        "help:show:poll",
    ]
    detail = await bot.click("help:show:coalition", as_="bob")
    assert not detail.error
    assert "/coalition link" in shown(detail)
    stale = await bot.click("retired:feature:1")
    assert stale.error and "no longer does anything" in shown(stale)
    gone = await bot.click("poll:vote:999:1")
    assert gone.error and "That poll no longer exists" in shown(gone)


async def test_clock_is_the_apps_clock(bot: Harness, clock) -> None:
    assert bot.dispatcher.app.clock.now() == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _channels(bot: Harness) -> list[Channel]:
    async with bot.dispatcher.app.db.session() as session:
        return list((await session.exec(select(Channel).order_by(Channel.id))).all())
