"""Runs commands and actions for every adapter alike.

One place decides, for each event: which coalition it belongs to, whether it may run there
(scope), whether the member may run it (permission), and what happens to the transaction: a reply
marked as an error, a usage error or a crash rolls everything back, so a refused command never
leaves a partial write behind. Members never see a traceback; the log gets it with a request id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.app import App
from bot.i18n import _, speaking
from bot.logs import new_request_id
from bot.permissions import Permission
from bot.platform import Platform
from bot.problems import Problem
from bot.refs import Actor, ConversationRef, MessageRef
from bot.replies import Reply, error, with_notes
from bot.services import Services
from bot.services.coalitions import Place
from bot.views import MemberView
from commands import pipeline
from commands.batching import Click, GroupCommit, Prepare
from commands.context import ActionContext, CommandContext
from commands.converters import converter
from commands.errors import CommandError, UsageError
from commands.home import home
from commands.parser import NO_PLATFORM, ParseContext, coerce_args, parse
from commands.pipeline import COMMAND_STEPS, Invocation, refusal
from commands.registry import Registry
from commands.spec import CommandSpec, Scope

log = logging.getLogger(__name__)
Context = TypeVar("Context", CommandContext, ActionContext)


class Dispatcher:
    def __init__(self, app: App, registry: Registry, platforms: Iterable[Platform] = ()) -> None:
        """`platforms`: those whose members' mentions and workspace noun commands understand
        (`adapters.PLATFORMS`); an event from another is handled as if from none."""
        self.app = app
        self.registry = registry
        self.platforms = {p.name: p for p in platforms}
        self.batches = GroupCommit(app, self._run_click, self._run_click_alone, self._unjoin)

    async def run_text(self, text: str, actor: Actor, where: ConversationRef, *, once: str | None = None) -> Reply:
        """A command typed as text (Slack, console): `/poll create "Lunch?" Yes No`. `once`: the
        platform's id for this request, so that a replay of it is not carried out again."""

        def read(reading: ParseContext, platform: Platform) -> tuple[CommandSpec, tuple[str, ...], dict[str, Any]]:
            parsed = parse(self.registry, text, reading, platform=platform)
            return parsed.spec, parsed.path, parsed.args

        # Only the command's name is logged: the rest may be an anonymous ballot or feedback.
        name = _command_name(text)
        return await self._command(name.lstrip("/").split(), name, read, actor, where, once)

    async def run_command(
        self,
        path: tuple[str, ...],
        raw_args: dict[str, Any],
        actor: Actor,
        where: ConversationRef,
        *,
        once: str | None = None,
    ) -> Reply:
        """A command whose options arrive already split (Discord application commands)."""

        def read(reading: ParseContext, platform: Platform) -> tuple[CommandSpec, tuple[str, ...], dict[str, Any]]:
            spec = self.registry.find(path)
            if spec is None or spec.is_group:
                raise UsageError(_("'/{path}' is not a command I know.").format(path=" ".join(path)), "/coalition help")
            return spec, path, coerce_args(spec, raw_args, reading, self.registry.usage(path), platform=platform)

        return await self._command(list(path), "/" + " ".join(path), read, actor, where, once)

    async def _command(
        self,
        words: list[str],
        describe: str,
        read: Read,
        actor: Actor,
        where: ConversationRef,
        once: str | None,
    ) -> Reply:
        """A command however it arrived: read its arguments in the member's zone and language,
        then its steps (commands.pipeline) and its handler, on one transaction."""
        platform = self._platform(where)

        async def prepare(services: Services, place: Place, member: MemberView | None, zone: ZoneInfo) -> Reply:
            reading = ParseContext(zone, self.app.clock.now())
            spec, path, args = read(reading, platform)
            ctx = self._context(CommandContext, actor, where, services, place, member, zone, path=path, args=args)
            reply = await pipeline.run(COMMAND_STEPS, Invocation(spec, ctx, platform.space))
            return with_notes(reply, reading.notes)

        anonymous = self._anonymous(words)
        return await self._timed(
            "command",
            self._known(words),
            self._in_transaction(actor, where, prepare, describe=describe, once=once, anonymous=anonymous),
            counted=not anonymous,
        )

    def _context(
        self,
        kind: type[Context],
        actor: Actor,
        where: ConversationRef,
        services: Services,
        place: Place,
        member: MemberView | None,
        zone: ZoneInfo,
        **particular: Any,
    ) -> Context:
        """What a handler is given: the event's place, member and zone, and what its kind adds."""
        return kind(
            actor=actor,
            where=where,
            place=place,
            member=member,
            services=services,
            registry=self.registry,
            platform_titles={name: p.title or name for name, p in self.platforms.items()},
            now=self.app.clock.now(),
            zone=zone,
            **particular,
        )

    async def _timed(self, kind: str, name: str, work: Awaitable[Reply], *, counted: bool = True) -> Reply:
        """Count the event and how long it took (metrics name commands, never what was typed). A
        vote, a survey answer or feedback (`counted=False`) leaves no trace there: scraped every
        second, even an unlabelled count would say when each anonymous vote was cast."""
        started = time.perf_counter()
        reply = await work
        if counted:
            self.app.metrics.event(kind, name, not reply.error, time.perf_counter() - started)
        return reply

    def _known(self, words: list[str]) -> str:
        """A command's name for counting: "/poll vote", or "unknown" for what is not a command."""
        for length in (2, 1):
            spec = self.registry.find(tuple(w.lower() for w in words[:length]))
            if spec is not None and not spec.is_group:
                return "/" + " ".join(w.lower() for w in words[:length])
        return "unknown"

    def _platform(self, where: ConversationRef) -> Platform:
        return self.platforms.get(where.platform) or NO_PLATFORM

    def _anonymous(self, words: list[str]) -> bool:
        spec = self.registry.find(tuple(w.lower() for w in words[:2]))
        return spec is None or spec.anonymous  # an unknown command may be a mistyped anonymous one

    async def run_action(
        self,
        action_id: str,
        actor: Actor,
        where: ConversationRef,
        *,
        value: str | None = None,
        message: MessageRef | None = None,
    ) -> Reply:
        """A button click or a menu choice."""
        routed = self.registry.route(action_id)

        async def prepare(services: Services, place: Place, member: MemberView | None, zone: ZoneInfo) -> Reply:
            if routed is None:
                return error(_("That button no longer does anything; the message it belongs to is out of date."))
            spec, params = routed
            refusal = self._refusal(spec.scope, spec.permission, place, member, where, _("that button"))
            if refusal is not None:
                return refusal
            ctx = self._context(
                ActionContext,
                actor,
                where,
                services,
                place,
                member,
                zone,
                action_id=action_id,
                params=params,
                value=value,
                message=message,
            )
            return await spec.handler(ctx)

        # Only the kind of click is logged: its ids may say which option of an anonymous poll was chosen.
        kind = ":".join(action_id.split(":")[:2])[:60]
        name = routed[0].prefix if routed is not None else "unknown"
        if routed is not None and routed[0].batched:
            work = self.batches.submit(actor, where, prepare, describe=f"action {kind}")  # logged without who
            return await self._timed("click", name, work, counted=False)  # votes, survey answers, RSVPs
        read_only = routed is not None and routed[0].read_only
        anonymous = routed is not None and routed[0].anonymous
        work = self._in_transaction(
            actor, where, prepare, describe=f"action {kind}", read_only=read_only, anonymous=anonymous
        )
        return await self._timed("click", name, work, counted=not anonymous)

    async def run_home(self, actor: Actor, where: ConversationRef) -> Reply:
        """The member's home view; set-up guidance where there is no coalition yet."""

        async def prepare(services: Services, place: Place, member: MemberView | None, zone: ZoneInfo) -> Reply:
            refusal = self._refusal(Scope.COALITION, Permission.MEMBER, place, member, where, _("the home view"))
            if refusal is not None:
                return refusal
            ctx = self._context(CommandContext, actor, where, services, place, member, zone, path=("home",), args={})
            return await home(ctx)

        return await self._timed("home", "home", self._in_transaction(actor, where, prepare, describe="home"))

    async def complete(
        self, path: tuple[str, ...], option_name: str, typed: str, actor: Actor, where: ConversationRef
    ) -> list[tuple[str, str]]:
        """Suggestions for an option as the member types (Discord autocomplete); read-only, and
        empty rather than an error when anything is off."""
        spec = self.registry.find(path)
        option = next((o for o in spec.options if o.name == option_name), None) if spec else None
        if option is None:
            return []
        suggest = converter(option).suggest
        if suggest is not None and not option.complete:
            return suggest(typed)[:25]  # what its kind suggests needs no coalition (time zones)
        completer = self.registry.completers.get(option.complete or "")
        if completer is None:
            return []
        async with self.app.unit_of_work() as services:
            place = await services.coalitions.resolve(where)
            if place.coalition is None:
                return []
            member = await services.coalitions.find_member(place.coalition, actor.user)
            zone = services.coalitions.zone_for(member, place.coalition, actor.timezone_hint)
            ctx = self._context(CommandContext, actor, where, services, place, member, zone, path=path, args={})
            suggestions = await completer(ctx, typed.strip().lower())
            await services.rollback()
        return suggestions[:25]

    async def _reader(self, actor: Actor, where: ConversationRef) -> tuple[Services, Place, MemberView | None]:
        """Who reads at `where` (their place and membership), for what adapters draw themselves."""
        async with self.app.unit_of_work() as services:
            place = await services.coalitions.resolve(where)
            member = None
            if place.coalition is not None:
                member = await services.coalitions.find_member(place.coalition, actor.user)
            return services, place, member

    async def viewer_zone(self, actor: Actor, where: ConversationRef) -> ZoneInfo:
        """The time zone a member reads times in, for adapters that render times themselves."""
        services, place, member = await self._reader(actor, where)
        return services.coalitions.zone_for(member, place.coalition, actor.timezone_hint)

    async def reader_language(self, actor: Actor, where: ConversationRef) -> str:
        """The language a member reads, for what adapters draw themselves (forms)."""
        services, place, member = await self._reader(actor, where)
        return services.coalitions.language_for(member, place.coalition, actor.locale)

    async def ensure_coalition(self, name: str, where: ConversationRef, founder: Actor) -> bool:
        """Start a coalition around `where` unless its space has one; True when one was created."""
        async with self.app.unit_of_work() as services:
            place = await services.coalitions.resolve(where)
            if place.coalition is not None:
                return False
            await services.coalitions.create(name, where, founder)
            await services.commit()
            return True

    def _refusal(
        self,
        scope: Scope,
        permission: Permission,
        place: Place,
        member: MemberView | None,
        where: ConversationRef,
        what: str,
    ) -> Reply | None:
        return refusal(scope, permission, place, member, self._platform(where).space, what)

    async def _in_transaction(
        self,
        actor: Actor,
        where: ConversationRef,
        prepare: Prepare,
        describe: str,
        once: str | None = None,
        anonymous: bool = False,
        read_only: bool = False,
    ) -> Reply:
        rid = new_request_id()
        log.info("%s from %s:%s in %s", describe, *_who(actor, where, anonymous))
        joined: MemberView | None = None
        for attempt in range(2):
            try:
                async with self.app.unit_of_work() as services:
                    if once is not None and not await services.first_time(once, REPLAY_WINDOW):
                        log.warning("%s: a replayed request, not carried out again", describe)
                        return error(_("This request arrived twice; it was carried out once."))
                    reply = await self._event(services, actor, where, prepare, join=not anonymous)
                    if reply.error or read_only:
                        await services.rollback()
                    else:
                        await services.commit()
                break
            except _JoinFirst:
                if attempt:
                    return _crashed(rid)
                # A newcomer whose first act is anonymous joins in a commit of its own: a commit
                # holding both the new member and a ballot (or a feedback text) would name them.
                joined = await self._join(actor, where)
            except Exception:
                log.exception("command failed")
                return _crashed(rid)
        if joined is not None and reply.error:
            await self._unjoin([joined])  # a refusal writes nothing, not even the member it refused
        if not reply.error and not read_only:
            await self.app.scheduler.poke()
        return reply

    async def _event(
        self,
        services: Services,
        actor: Actor,
        where: ConversationRef,
        prepare: Prepare,
        *,
        join: bool = True,
    ) -> Reply:
        """One command or click on an open transaction: where, who, then the handler. `join`:
        a newcomer may join here; otherwise (an anonymous act) they must have joined before."""
        place = await services.coalitions.resolve(where)
        member = None
        if place.coalition is not None and not join:
            member = await services.coalitions.find_member(place.coalition, actor.user)
            if member is None:
                raise _JoinFirst
        elif place.coalition is not None:
            member = await services.coalitions.member_for(place.coalition, actor)
        zone = services.coalitions.zone_for(member, place.coalition, actor.timezone_hint)
        # Everything said to this member, and every time they type, in their language.
        language = services.coalitions.language_for(member, place.coalition, actor.locale)
        with speaking(language):
            try:
                reply = await prepare(services, place, member, zone)
            except UsageError as exc:
                reply = error(exc.message, exc.usage)
            except CommandError as exc:
                reply = error(exc.message)
            except Problem as exc:  # a service's "cannot be done", in plain words for the member
                reply = error(str(exc))
        return reply if reply.language else replace(reply, language=language)

    async def _run_click(self, services: Services, click: Click) -> Reply:
        """A click of a batch, on the batch's transaction; its clicker joined before (GroupCommit)."""
        return await self._event(services, click.actor, click.where, click.prepare, join=False)

    async def _run_click_alone(self, click: Click) -> Reply:
        return await self._in_transaction(click.actor, click.where, click.prepare, click.describe, anonymous=True)

    async def _join(self, actor: Actor, where: ConversationRef) -> MemberView | None:
        """Join `actor` where they act, in a commit of its own; the member, or None if they were
        a member already or there is no coalition there."""
        async with self.app.unit_of_work() as services:
            place = await services.coalitions.resolve(where)
            if place.coalition is None or await services.coalitions.find_member(place.coalition, actor.user):
                return None
            member = await services.coalitions.member_for(place.coalition, actor)
            await services.commit()
            return member

    async def _unjoin(self, members: Sequence[MemberView]) -> None:
        async with self.app.unit_of_work() as services:
            for member in members:
                await services.coalitions.remove_newcomer(member)
            await services.commit()


class _JoinFirst(Exception):
    """An anonymous act by someone not yet a member: they join in a commit of their own first."""


REPLAY_WINDOW = timedelta(hours=1)  # Slack accepts a signed request for 5 minutes

# How a command's arguments are read once the member's zone and platform are known: parsed from
# text, or converted from options that arrived split.
Read = Callable[[ParseContext, Platform], tuple[CommandSpec, tuple[str, ...], dict[str, Any]]]


def _who(actor: Actor, where: ConversationRef, anonymous: bool) -> tuple[str, str, str]:
    """Who acted, for the log line; never for a vote, a survey answer or feedback, where the
    time of the line beside a changed count would say what the member chose or wrote."""
    return where.platform, "someone" if anonymous else actor.user.user_id, where.channel_id


def _crashed(rid: str) -> Reply:
    return error(
        _(
            "Sorry, something went wrong on our side (reference {rid}). Nothing was changed; "
            "please try again, and tell a coordinator if it keeps happening."
        ).format(rid=rid)
    )


def _command_name(text: str) -> str:
    words = text.split()[:2]
    return " ".join(w for w in words if w.replace("/", "").replace("-", "").isalnum())[:40] or "command"
