"""Each step a command passes through, alone: given a command about to run and a `proceed` of the
test's own, does it stop the chain, go on, and act on what came back as a member would see it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.permissions import Permission
from bot.replies import Reply, error
from bot.services.governance import RateLimit
from commands import pipeline
from commands.context import CommandContext
from commands.pipeline import Invocation, allowed, audited, rate_limited
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope
from storage.models import AuditEntry
from tests.harness import Harness, shown


async def _done(ctx: CommandContext) -> Reply:
    return Reply("done")


def _spec(**declared: Any) -> CommandSpec:
    return CommandSpec(name="thing", description="A command for the test", handler=_done, **declared)


@asynccontextmanager
async def _invocation(
    bot: Harness, spec: CommandSpec, *, as_: str = "admin", args: dict[str, Any] | None = None, channel: str = "general"
) -> AsyncIterator[Invocation]:
    """The command as the dispatcher hands it to the steps: the member's place, on an open
    transaction that is committed when the block ends (as the dispatcher does)."""
    dispatcher = bot.dispatcher
    actor, where = bot.actor(as_), bot.where(channel)
    async with dispatcher.app.unit_of_work() as services:
        place = await services.coalitions.resolve(where)
        member = await services.coalitions.member_for(place.coalition, actor) if place.coalition else None
        ctx = CommandContext(
            actor=actor,
            where=where,
            place=place,
            member=member,
            services=services,
            registry=dispatcher.registry,
            platform_titles={},
            now=dispatcher.app.clock.now(),
            zone=services.coalitions.zone_for(member, place.coalition, None),
            path=("thing",),
            args=args or {},
        )
        yield Invocation(spec, ctx, "workspace")
        await services.commit()


class _Proceed:
    """A `proceed` that answers `reply` and says whether it was called."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or Reply("done")
        self.called = 0

    async def __call__(self) -> Reply:
        self.called += 1
        return self.reply


async def _audit(bot: Harness) -> list[AuditEntry]:
    async with bot.dispatcher.app.db.session() as session:
        return list((await session.exec(select(AuditEntry).where(AuditEntry.action == "/thing"))).all())


async def test_allowed_stops_a_member_at_a_coordinators_command_and_names_the_coordinators(bot: Harness) -> None:
    proceed = _Proceed()
    async with _invocation(bot, _spec(permission=Permission.COORDINATOR), as_="sam") as invocation:
        reply = await allowed(invocation, proceed)
    assert proceed.called == 0
    assert reply.error
    assert "Only coordinators can use /thing." in shown(reply) and "Coordinators here: admin." in shown(reply)


async def test_allowed_lets_a_coordinator_through_and_returns_what_came_back(bot: Harness) -> None:
    proceed = _Proceed(Reply("made"))
    async with _invocation(bot, _spec(permission=Permission.COORDINATOR)) as invocation:
        reply = await allowed(invocation, proceed)
    assert proceed.called == 1 and shown(reply) == "made"


async def test_allowed_stops_a_command_outside_a_linked_channel(bot: Harness) -> None:
    proceed = _Proceed()
    async with _invocation(bot, _spec(scope=Scope.CHANNEL), channel="random") as invocation:
        reply = await allowed(invocation, proceed)
    assert proceed.called == 0 and "isn't linked to Our coalition yet, so /thing can't be used here" in shown(reply)


async def test_allowed_keeps_a_coordinators_option_from_members_but_not_its_default(bot: Harness) -> None:
    option = OptionSpec("pin", OptionType.BOOL, "Pin it", coordinators_only=True, default=False)
    spec = _spec(options=(option,))
    proceed = _Proceed()
    async with _invocation(bot, spec, as_="sam", args={"pin": True}) as invocation:
        refused = await allowed(invocation, proceed)
    async with _invocation(bot, spec, as_="sam", args={"pin": False}) as invocation:
        went = await allowed(invocation, proceed)
    assert "Only coordinators can use --pin." in shown(refused)
    assert proceed.called == 1 and not went.error


async def test_rate_limited_counts_only_uses_that_went_through_and_then_stops_the_chain(bot: Harness) -> None:
    spec = _spec(rate_limit=RateLimit(2, timedelta(hours=1)))
    failed = _Proceed(error("That did not work."))
    async with _invocation(bot, spec, as_="sam") as invocation:
        await rate_limited(invocation, failed)  # a failed use costs nothing
    went = _Proceed()
    for _ in range(2):
        async with _invocation(bot, spec, as_="sam") as invocation:
            assert not (await rate_limited(invocation, went)).error
    async with _invocation(bot, spec, as_="sam") as invocation:
        third = await rate_limited(invocation, went)
    assert failed.called == 1 and went.called == 2
    assert third.error and "You've used /thing 2 times recently (the limit is 2 per hour" in shown(third)
    async with _invocation(bot, spec, as_="ana") as invocation:  # the limit is each member's own
        assert not (await rate_limited(invocation, went)).error


async def test_audited_records_a_coordinators_command_without_its_free_text_and_never_a_failure(
    bot: Harness,
) -> None:
    options = (
        OptionSpec("title", OptionType.TEXT, "What it says"),
        OptionSpec("channel", OptionType.STRING, "Where"),
    )
    spec = _spec(permission=Permission.COORDINATOR, options=options)
    args = {"title": "Dana's private note", "channel": "north"}
    async with _invocation(bot, spec, args=args) as invocation:
        await audited(invocation, _Proceed(error("No.")))
    assert await _audit(bot) == []
    async with _invocation(bot, spec, args=args) as invocation:
        await audited(invocation, _Proceed())
    [entry] = await _audit(bot)
    assert entry.target == "#general channel=north" and entry.platform == "console"


async def test_a_members_command_is_audited_only_when_a_coordinator_says_what_it_acted_on(bot: Harness) -> None:
    async def noted(ctx: CommandContext) -> Reply:
        ctx.audit_note = "sectors of {subject}"
        return Reply("done")

    spec = CommandSpec(name="thing", description="A command for the test", handler=noted)
    async with _invocation(bot, spec, as_="sam") as invocation:
        await pipeline.run(pipeline.COMMAND_STEPS, invocation)
    assert await _audit(bot) == []
    async with _invocation(bot, spec) as invocation:
        await pipeline.run(pipeline.COMMAND_STEPS, invocation)
    assert [e.target for e in await _audit(bot)] == ["sectors of {subject}"]


async def test_the_chain_runs_in_order_and_a_step_that_answers_stops_the_rest(bot: Harness) -> None:
    seen: list[str] = []

    def step(name: str, stop: bool = False) -> pipeline.Step:
        async def run(invocation: Invocation, proceed: Callable[[], Any]) -> Reply:
            seen.append(name)
            return Reply(f"stopped by {name}") if stop else await proceed()

        return run

    async with _invocation(bot, _spec()) as invocation:
        whole = await pipeline.run((step("first"), step("second")), invocation)
        assert shown(whole) == "done" and seen == ["first", "second"]
        seen.clear()
        stopped = await pipeline.run((step("first", stop=True), step("second")), invocation)
    assert shown(stopped) == "stopped by first" and seen == ["first"]
