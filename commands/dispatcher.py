"""Runs commands and actions for every adapter alike.

One place decides, for each event: which coalition it belongs to, whether it may run there
(scope), whether the member may run it (permission), and what happens to the transaction: a reply
marked as an error, a usage error or a crash rolls everything back, so a refused command never
leaves a partial write behind. Members never see a traceback; the log gets it with a request id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot import markup
from bot.app import App
from bot.i18n import _, speaking
from bot.logs import new_request_id, request_id
from bot.permissions import Permission, Role, allows, who
from bot.platform import Platform
from bot.problems import Problem
from bot.refs import Actor, ConversationRef, MessageRef
from bot.replies import Reply, error, with_notes
from bot.services import Services
from bot.services.coalitions import Place
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError, UsageError
from commands.home import home
from commands.parser import NO_PLATFORM, ParseContext, coerce_args, parse
from commands.registry import Registry
from commands.spec import CommandSpec, OptionType, Scope
from storage.models import Member

log = logging.getLogger(__name__)
Context = TypeVar("Context", CommandContext, ActionContext)

# What runs an event once its place, member and zone are known: parsing and the handler.
Prepare = Callable[[Services, Place, Member | None, ZoneInfo], Awaitable[Reply]]


class Dispatcher:
    def __init__(self, app: App, registry: Registry, platforms: Iterable[Platform] = ()) -> None:
        """`platforms`: those whose members' mentions and workspace noun commands understand
        (`adapters.PLATFORMS`); an event from another is handled as if from none."""
        self.app = app
        self.registry = registry
        self.platforms = {p.name: p for p in platforms}
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._batch_size = BATCH_FIRST

    async def run_text(self, text: str, actor: Actor, where: ConversationRef, *, once: str | None = None) -> Reply:
        """A command typed as text (Slack, console): `/poll create "Lunch?" Yes No`. `once`: the
        platform's id for this request, so that a replay of it is not carried out again."""

        async def prepare(services: Services, place: Place, member: Member | None, zone: ZoneInfo) -> Reply:
            read = ParseContext(zone, self.app.clock.now())
            parsed = parse(self.registry, text, read, platform=self._platform(where))
            reply = await self._run(parsed.spec, parsed.path, parsed.args, actor, where, services, place, member, zone)
            return with_notes(reply, read.notes)

        # Only the command's name is logged: the rest may be an anonymous ballot or feedback.
        name = _command_name(text)
        anonymous = self._anonymous(name.lstrip("/").split())
        return await self._timed(
            "command",
            self._known(name.lstrip("/").split()),
            self._in_transaction(actor, where, prepare, describe=name, once=once, anonymous=anonymous),
            counted=not anonymous,
        )

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

        async def prepare(services: Services, place: Place, member: Member | None, zone: ZoneInfo) -> Reply:
            spec = self.registry.find(path)
            if spec is None or spec.is_group:
                raise UsageError(_("'/{path}' is not a command I know.").format(path=" ".join(path)), "/coalition help")
            usage = self.registry.usage(path)
            read = ParseContext(zone, self.app.clock.now())
            args = coerce_args(spec, raw_args, read, usage, platform=self._platform(where))
            reply = await self._run(spec, path, args, actor, where, services, place, member, zone)
            return with_notes(reply, read.notes)

        anonymous = self._anonymous(list(path))
        return await self._timed(
            "command",
            self._known(list(path)),
            self._in_transaction(actor, where, prepare, describe="/" + " ".join(path), once=once, anonymous=anonymous),
            counted=not anonymous,
        )

    def _context(
        self,
        kind: type[Context],
        actor: Actor,
        where: ConversationRef,
        services: Services,
        place: Place,
        member: Member | None,
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

        async def prepare(services: Services, place: Place, member: Member | None, zone: ZoneInfo) -> Reply:
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
            work = self._in_batch(actor, where, prepare, describe=f"action {kind}")  # logged without who
            return await self._timed("click", name, work, counted=False)  # votes, survey answers, RSVPs
        read_only = routed is not None and routed[0].read_only
        anonymous = routed is not None and routed[0].anonymous
        work = self._in_transaction(
            actor, where, prepare, describe=f"action {kind}", read_only=read_only, anonymous=anonymous
        )
        return await self._timed("click", name, work, counted=not anonymous)

    async def run_home(self, actor: Actor, where: ConversationRef) -> Reply:
        """The member's home view; set-up guidance where there is no coalition yet."""

        async def prepare(services: Services, place: Place, member: Member | None, zone: ZoneInfo) -> Reply:
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
        completer = self.registry.completers.get(option.complete or "") if option else None
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

    async def _reader(self, actor: Actor, where: ConversationRef) -> tuple[Services, Place, Member | None]:
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

    async def _run(
        self,
        spec: CommandSpec,
        path: tuple[str, ...],
        args: dict[str, Any],
        actor: Actor,
        where: ConversationRef,
        services: Services,
        place: Place,
        member: Member | None,
        zone: ZoneInfo,
    ) -> Reply:
        refusal = self._refusal(spec.scope, spec.permission, place, member, where, "/" + " ".join(path))
        if refusal is None and spec.permission == Permission.ADMIN and not actor.is_platform_admin:
            refusal = error(
                _("Only {who} can use {command}.").format(who=who(Permission.ADMIN), command="/" + " ".join(path))
            )
        if refusal is None and member is not None and member.role != Role.COORDINATOR:
            refusal = _coordinator_options(spec, args)
        if refusal is not None:
            if spec.permission == Permission.COORDINATOR and place.coalition is not None and member:
                names = [c.display_name for c in await services.coalitions.coordinators(place.coalition)]
                if names:
                    shown = ", ".join(markup.user_text(n) for n in names[:5])
                    here = _("Coordinators here: {names}.").format(names=shown)
                    return error(f"{refusal.text.removeprefix('⚠️ ')} {here}")
            return refusal
        assert spec.handler is not None
        kind = "/" + " ".join(path)
        if spec.rate_limit is not None and member is not None:
            wait = await services.governance.check_rate(member, kind, spec.rate_limit)
            if wait is not None:
                return error(wait)
        ctx = self._context(CommandContext, actor, where, services, place, member, zone, path=path, args=args)
        reply = await spec.handler(ctx)
        if reply.error:
            return reply
        if spec.rate_limit is not None and ctx.member is not None:
            await services.governance.count_use(ctx.member, kind)
        # Audited: commands declared so, and commands open to members that a coordinator used to act
        # on the coalition (they say so by setting ctx.audit_note: sectors, someone's profile).
        coordinator_acted = (
            ctx.audit_note is not None and ctx.member is not None and ctx.member.role == Role.COORDINATOR
        )
        if spec.is_audited or (coordinator_acted and spec.audited is not False):
            # The place may have been created by this very command (set-up, join).
            coalition = ctx.place.coalition or (await services.coalitions.resolve(where)).coalition
            if coalition is not None and coalition.id is not None:
                acting = ctx.member or await services.coalitions.find_member(coalition, actor.user)
                target = ctx.audit_note or _summary(spec, args, where)
                await services.governance.record(
                    coalition.id, acting, kind, target, where.platform, subject=ctx.audit_subject
                )
        return reply

    def _refusal(
        self,
        scope: Scope,
        permission: Permission,
        place: Place,
        member: Member | None,
        where: ConversationRef,
        what: str,
    ) -> Reply | None:
        if scope != Scope.ANYWHERE and place.coalition is None:
            space = self._platform(where).space
            return error(
                _(
                    "This {space} isn't part of a coalition yet. An admin can start one here with "
                    '`/coalition setup "Coalition name"`, or join an existing one with `/coalition join CODE` '
                    "(a coordinator gets the code with `/coalition invite`). `/coalition help` shows what the bot "
                    "does."
                ).format(space=_(space))
            )
        if scope == Scope.CHANNEL and not place.linked:
            assert place.coalition is not None
            return error(
                _(
                    "This channel isn't linked to {coalition} yet, so {what} can't be used here. A coordinator can "
                    "link it with `/coalition link`."
                ).format(coalition=markup.user_text(place.coalition.name), what=what)
            )
        if member is not None and not allows(member.role, permission):
            said = _("Only {who} can use {command}.").format(who=who(permission), command=what)
            if member.role == Role.OBSERVER and permission == Permission.PARTICIPANT:
                said += " " + _("You are an observer: you can read along but not vote or RSVP.")
            return error(said)
        return None

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
        joined: Member | None = None
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

    # Group commit ---------------------------------------------------------------------------
    #
    # When hundreds of members vote within a second, one transaction per click would queue them
    # all on the database's write lock (SQLite has one writer; PostgreSQL would serialise them on
    # the poll's card), and each statement costs far more than the work in it. Instead, clicks
    # that arrive while a batch is being written wait for the next batch; a batch's members are
    # looked up (and joined) together, its clicks run on one transaction, the poll cards they
    # touched are redrawn once, and every click is answered once the commit that holds it has
    # succeeded. Batched handlers refuse before they write (ActionSpec.batched), so a refusal
    # leaves nothing behind; if anything raises, or the commit fails, the whole batch is rolled
    # back and its clicks are written one transaction each, so one bad click costs only itself.

    async def _in_batch(
        self,
        actor: Actor,
        where: ConversationRef,
        prepare: Prepare,
        describe: str,
    ) -> Reply:
        event = _Pending(actor, where, prepare, describe, asyncio.get_running_loop().create_future())
        self._pending.append(event)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        return await asyncio.shield(event.reply)

    async def _write_batches(self) -> None:
        burst = False
        while self._pending:
            if burst and len(self._pending) < self._batch_size:
                await asyncio.sleep(BATCH_LINGER)  # in a burst, let a few more clicks join this batch
            batch, self._pending = self._pending[: self._batch_size], self._pending[self._batch_size :]
            burst = len(batch) > 1
            started = time.perf_counter()
            replies = await self._write_batch(batch)
            self._size_batches(len(batch), time.perf_counter() - started, others_waiting=self.app.db.queued > 0)
            for event, reply in zip(batch, replies, strict=True):
                event.reply.set_result(reply)
            if any(not r.error for r in replies):
                await self.app.scheduler.poke()

    def _size_batches(self, clicks: int, took: float, others_waiting: bool) -> None:
        """A batch holds the database while it is written. When a member's request waited for it,
        size the next batch from what this one cost a click, so that such a wait stays near
        BATCH_TURN whatever the clicks cost (a vote on a small poll, an RSVP that redraws a busy
        card); when nobody waited, grow it, since bigger batches write faster, but never past
        BATCH_HOLD, what the next member to arrive would have to wait."""
        if clicks <= 1 or took <= 0:
            return
        if others_waiting:
            fits = int(BATCH_TURN * clicks / took)
        else:
            fits = min(2 * self._batch_size, int(BATCH_HOLD * clicks / took))
        self._batch_size = max(BATCH_MIN, min(BATCH_MAX, (self._batch_size + fits) // 2))

    async def _join(self, actor: Actor, where: ConversationRef) -> Member | None:
        """Join `actor` where they act, in a commit of its own; the member, or None if they were
        a member already or there is no coalition there."""
        async with self.app.unit_of_work() as services:
            place = await services.coalitions.resolve(where)
            if place.coalition is None or await services.coalitions.find_member(place.coalition, actor.user):
                return None
            member = await services.coalitions.member_for(place.coalition, actor)
            await services.commit()
            return member

    async def _join_all(self, batch: list[_Pending]) -> list[Member]:
        """The newcomers of a batch of clicks, joined in a commit before the one with their votes."""
        async with self.app.unit_of_work() as services:
            await self._prefetch(services, batch)
            joined = services.coalitions.joined()
            if joined:
                await services.commit()
            return joined

    async def _unjoin(self, members: list[Member]) -> None:
        async with self.app.unit_of_work() as services:
            for member in members:
                await services.coalitions.remove_newcomer(member)
            await services.commit()

    async def _write_batch(self, batch: list[_Pending]) -> list[Reply]:
        replies: list[Reply] = []
        joined = await self._join_all(batch)
        try:
            async with self.app.unit_of_work() as services:
                await self._prefetch(services, batch)
                for event in batch:
                    request_id.set(event.rid)
                    log.info("%s from %s:%s in %s", event.describe, *_who(event.actor, event.where, anonymous=True))
                    replies.append(await self._event(services, event.actor, event.where, event.prepare, join=False))
                acted = {e.actor.user.key for e, r in zip(batch, replies, strict=True) if not r.error}
                refused = {e.actor.user.key for e, r in zip(batch, replies, strict=True) if r.error}
                await services.commit()
        except Exception:
            # Nothing of the batch was written. Each click gets its own transaction instead, so
            # one that fails costs only itself.
            log.exception("writing a batch of %d clicks failed; writing them one by one", len(batch))
            if joined:
                await self._unjoin(joined)
            return [await self._in_transaction(e.actor, e.where, e.prepare, e.describe, anonymous=True) for e in batch]
        unjoined = [m for m in joined if (m.platform, m.workspace_id, m.user_id) in refused - acted]
        if unjoined:
            await self._unjoin(unjoined)  # a refusal writes nothing, not even the member it refused
        return replies

    @staticmethod
    async def _prefetch(services: Services, batch: list[_Pending]) -> None:
        services.coalitions.remember_lookups()
        places: dict[tuple[str, str, str], tuple[ConversationRef, list[Actor]]] = {}
        for event in batch:
            places.setdefault(event.where.key, (event.where, []))[1].append(event.actor)
        for where, actors in places.values():
            place = await services.coalitions.resolve(where)
            if place.coalition is not None:
                await services.coalitions.prefetch_members(place.coalition, actors)


class _JoinFirst(Exception):
    """An anonymous act by someone not yet a member: they join in a commit of their own first."""


BATCH_MAX = 500
BATCH_MIN = 10
BATCH_FIRST = 40  # the first batch of a burst, before any has been measured
BATCH_TURN = 0.04  # seconds a batch of clicks may hold the database while other commands wait
BATCH_HOLD = 0.1  # seconds a batch may hold it when nobody is waiting (yet)
REPLAY_WINDOW = timedelta(hours=1)  # Slack accepts a signed request for 5 minutes
BATCH_LINGER = 0.02  # seconds; only once clicks are arriving together, so a lone click never waits


@dataclass
class _Pending:
    actor: Actor
    where: ConversationRef
    prepare: Prepare
    describe: str
    reply: asyncio.Future[Reply]
    rid: str = field(default_factory=new_request_id)


def _who(actor: Actor, where: ConversationRef, anonymous: bool) -> tuple[str, str, str]:
    """Who acted, for the log line; never for a vote, a survey answer or feedback, where the
    time of the line beside a changed count would say what the member chose or wrote."""
    return where.platform, "someone" if anonymous else actor.user.user_id, where.channel_id


def _coordinator_options(spec: CommandSpec, args: dict[str, Any]) -> Reply | None:
    """Refuse options (or values of them) that the declaration keeps for coordinators."""
    for option in spec.options:
        value = args.get(option.name)
        if option.coordinators_only and value not in (None, False, [], option.default):
            return error(_("Only coordinators can use --{name}.").format(name=option.name))
        if isinstance(value, str) and value in option.coordinator_values:
            return error(_("Only coordinators can use `{value}` here.").format(value=value))
    return None


def _crashed(rid: str) -> Reply:
    return error(
        _(
            "Sorry, something went wrong on our side (reference {rid}). Nothing was changed; "
            "please try again, and tell a coordinator if it keeps happening."
        ).format(rid=rid)
    )


def _summary(spec: CommandSpec, args: dict[str, Any], where: ConversationRef) -> str:
    """What an audited command acted on, from its arguments; free text is left out, as it may be long
    or personal (the audit log is about who did what, not what anyone wrote)."""
    parts = [f"#{where.name or where.channel_id}"]
    for option in spec.options:
        value = args.get(option.name)
        if value is None or value is False or value == [] or option.type == OptionType.TEXT:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        label = getattr(value, "label", None)
        parts.append(f"{option.name}={label or value}")
    return " ".join(parts)[:300]


def _command_name(text: str) -> str:
    words = text.split()[:2]
    return " ".join(w for w in words if w.replace("/", "").replace("-", "").isalnum())[:40] or "command"
