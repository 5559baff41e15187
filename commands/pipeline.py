"""What every command passes through around its handler, as a chain of small steps.

A step sees the command about to run (`Invocation`) and a `proceed` that runs the rest of the
chain and then the handler. It stops the chain by returning a reply of its own without calling
`proceed` (a refusal), or calls it and acts on what came back (counting a use, writing the
audit). Each is a few lines and tested alone (tests/test_pipeline.py) with a `proceed` of the
test's own, the way slack-bolt's middleware and discord.py's checks are. The order is
`COMMAND_STEPS`: refusals first, so that a refused command neither counts against a rate limit
nor reaches the audit log.

Buttons and the home view are refused by the same rule (`refusal`) before their handlers run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot import markup
from bot.i18n import _
from bot.permissions import Permission, Role, allows, who
from bot.refs import ConversationRef
from bot.replies import Reply, error
from bot.services.coalitions import Place
from bot.views import MemberView
from commands.context import CommandContext
from commands.spec import CommandSpec, OptionType, Scope


@dataclass(frozen=True)
class Invocation:
    """One command about to run: what it is, the context its handler will get, and the word
    for the space a coalition lives in on the platform it came from ("Slack workspace")."""

    spec: CommandSpec
    ctx: CommandContext
    space: str

    @property
    def name(self) -> str:
        """As members type it and the audit and rate limits know it: "/poll create"."""
        return "/" + " ".join(self.ctx.path)


Proceed = Callable[[], Awaitable[Reply]]
Step = Callable[[Invocation, Proceed], Awaitable[Reply]]


async def run(steps: Sequence[Step], invocation: Invocation) -> Reply:
    """Run `steps` in order around the command's handler."""

    async def from_step(index: int) -> Reply:
        if index == len(steps):
            handler = invocation.spec.handler
            assert handler is not None  # the registry holds no leaf command without one
            return await handler(invocation.ctx)
        return await steps[index](invocation, lambda: from_step(index + 1))

    return await from_step(0)


# Refusals -----------------------------------------------------------------------------------


def refusal(
    scope: Scope, permission: Permission, place: Place, member: MemberView | None, space: str, what: str
) -> Reply | None:
    """Why `what` (a command, "that button") may not be used here by this member, or None.
    `space`: the platform's word for where a coalition lives, untranslated."""
    if scope != Scope.ANYWHERE and place.coalition is None:
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


def coordinator_options(spec: CommandSpec, args: dict[str, Any]) -> Reply | None:
    """Refuse options (or values of them) that the declaration keeps for coordinators."""
    for option in spec.options:
        value = args.get(option.name)
        if option.coordinators_only and value not in (None, False, [], option.default):
            return error(_("Only coordinators can use --{name}.").format(name=option.name))
        if isinstance(value, str) and value in option.coordinator_values:
            return error(_("Only coordinators can use `{value}` here.").format(value=value))
    return None


def _refused(invocation: Invocation) -> Reply | None:
    spec, ctx = invocation.spec, invocation.ctx
    refused = refusal(spec.scope, spec.permission, ctx.place, ctx.member, invocation.space, invocation.name)
    if refused is None and spec.permission == Permission.ADMIN and not ctx.actor.is_platform_admin:
        refused = error(_("Only {who} can use {command}.").format(who=who(Permission.ADMIN), command=invocation.name))
    if refused is None and ctx.member is not None and ctx.member.role != Role.COORDINATOR:
        refused = coordinator_options(spec, ctx.args)
    return refused


# Steps --------------------------------------------------------------------------------------


async def allowed(invocation: Invocation, proceed: Proceed) -> Reply:
    """Scope, permission, admin-only commands and coordinators' options. A member refused a
    coordinators' command is told who the coordinators are, so they know whom to ask."""
    refused = _refused(invocation)
    if refused is None:
        return await proceed()
    ctx = invocation.ctx
    if invocation.spec.permission == Permission.COORDINATOR and ctx.place.coalition is not None and ctx.member:
        names = [c.display_name for c in await ctx.services.coalitions.coordinators(ctx.place.coalition)]
        if names:
            shown = ", ".join(markup.user_text(n) for n in names[:5])
            here = _("Coordinators here: {names}.").format(names=shown)
            return error(f"{refused.text.removeprefix('⚠️ ')} {here}")
    return refused


async def rate_limited(invocation: Invocation, proceed: Proceed) -> Reply:
    """Commands declared with a rate limit: refused while the member is over it; a use that
    went through counts (a refused or failed one does not)."""
    limit, ctx = invocation.spec.rate_limit, invocation.ctx
    if limit is None:
        return await proceed()
    if ctx.member is not None:
        wait = await ctx.services.governance.check_rate(ctx.member, invocation.name, limit)
        if wait is not None:
            return error(wait)
    reply = await proceed()
    if not reply.error and ctx.member is not None:  # the member may have joined with this command
        await ctx.services.governance.count_use(ctx.member, invocation.name)
    return reply


async def audited(invocation: Invocation, proceed: Proceed) -> Reply:
    """Who did what, for commands declared audited, and for commands open to members that a
    coordinator used to act on the coalition (they say so by setting ctx.audit_note: sectors,
    someone's profile)."""
    reply = await proceed()
    spec, ctx = invocation.spec, invocation.ctx
    if reply.error:
        return reply
    coordinator_acted = ctx.audit_note is not None and ctx.member is not None and ctx.member.role == Role.COORDINATOR
    if spec.is_audited or (coordinator_acted and spec.audited is not False):
        # The place may have been created by this very command (set-up, join).
        coalition = ctx.place.coalition or (await ctx.services.coalitions.resolve(ctx.where)).coalition
        if coalition is not None and coalition.id is not None:
            acting = ctx.member or await ctx.services.coalitions.find_member(coalition, ctx.actor.user)
            target = ctx.audit_note or summary(spec, ctx.args, ctx.where)
            await ctx.services.governance.record(
                coalition.id, acting, invocation.name, target, ctx.where.platform, subject=ctx.audit_subject
            )
    return reply


COMMAND_STEPS: tuple[Step, ...] = (allowed, rate_limited, audited)


def summary(spec: CommandSpec, args: dict[str, Any], where: ConversationRef) -> str:
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
