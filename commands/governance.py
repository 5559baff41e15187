"""Roles, the audit log, and members' data rights: `/coalition role|audit|my-data|forget-me`."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from bot import markup
from bot.i18n import N_, _
from bot.markup import timestamp, user_text
from bot.permissions import Permission, Role, role_name
from bot.refs import UserRef
from bot.replies import Actions, Attachment, Button, Reply, Section, action_id, error
from commands.context import ActionContext, CommandContext
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope

AUDIT_SHOWN = 30


async def role(ctx: CommandContext) -> Reply:
    mention, new_role = ctx.args["member"], ctx.args["role"]
    user = ctx.actor.user
    target = await ctx.services.coalitions.member_by_mention(ctx.coalition, ctx.actor, mention.user_id)
    if target is None:
        # Named before they ever used the bot: they join now, with the role given.
        named = UserRef(user.platform, user.workspace_id, mention.user_id)
        target = await ctx.services.coalitions.member_named(ctx.coalition, named, mention.label)
    name = user_text(target.display_name or target.user_id)
    old = target.role
    await ctx.services.governance.set_role(target, Role(new_role))
    # "{subject}" stays in the note: the member's name is filled in when the log is read.
    ctx.audit_note = _("{subject}: {old} → {new}").format(
        subject="{subject}", old=role_name(old), new=role_name(new_role)
    )
    ctx.audit_subject = target
    return Reply(
        _("{name} is now a {role} (was {old}).").format(name=name, role=role_name(new_role), old=role_name(old))
    )


def _as_recorded(target: str) -> str:
    """An audit entry's note: the times it names shown in the reader's zone and language; the
    rest (channel names, tags) as typed text, never read as markup."""
    parts = re.split(f"({markup.TS_OPEN}-?\\d+:[a-zA-Z]{markup.TS_CLOSE})", target)
    return "".join(part if n % 2 else user_text(part) for n, part in enumerate(parts) if part)


async def audit(ctx: CommandContext) -> Reply:
    since = ctx.now - (ctx.args["since"] or timedelta(days=30))
    entries = await ctx.services.governance.entries(ctx.coalition, since)
    if not entries:
        return Reply(_("No coordinator actions since {since}.").format(since=timestamp(since, "f")), private=True)
    lines = [
        _("**Coordinator actions since {since}** ({entries})").format(since=timestamp(since, "f"), entries=len(entries))
    ]
    for line in entries[:AUDIT_SHOWN]:
        lines.append(
            _("• {when}: {who} ran `{command}` {what}").format(
                when=timestamp(line.at, "f"),
                who=user_text(line.actor),
                command=line.action,
                what=_as_recorded(line.target),
            )
        )
    if len(entries) > AUDIT_SHOWN:
        lines.append(
            _("… and {count} more; `/coalition audit --csv` exports them all.").format(count=len(entries) - AUDIT_SHOWN)
        )
    reply = Reply("\n".join(lines), private=True)
    if ctx.args["csv"]:
        # Reading the log is not recorded; exporting it is.
        await ctx.services.governance.record(
            ctx.coalition.id or 0, ctx.me, "/coalition audit --csv", f"{len(entries)} entries", ctx.where.platform
        )
        csv = ctx.services.governance.audit_csv(entries)
        reply = replace(reply, attachments=(Attachment("coalition-audit.csv", csv, "text/csv"),))
    return reply


async def my_data(ctx: CommandContext) -> Reply:
    data = await ctx.services.governance.export(ctx.me, ctx.coalition)
    return Reply(
        _(
            "Here is everything the bot holds about you, as JSON (only you can see this). "
            "`/coalition forget-me` erases it."
        ),
        private=True,
        attachments=(Attachment("my-coalition-data.json", data, "application/json"),),
    )


async def forget_me(ctx: CommandContext) -> Reply:
    if await ctx.services.governance.is_last_coordinator(ctx.me):
        return error(_("You're the only coordinator; make someone else a coordinator first (`/coalition role`)."))
    member_id = ctx.me.id or 0
    text = _(
        "**Erase everything the bot holds about you?** Your profile, role and time zone "
        "go; broadcasts you acknowledged stay counted but no longer name you; your "
        'coordinator actions stay on record as "a former member". This cannot be undone.'
    )
    return Reply(
        text,
        blocks=(
            Section(text),
            Actions(
                (
                    Button(_("Yes, erase my data"), action_id("coalition", "forget", member_id), "danger"),
                    Button(_("Cancel"), action_id("coalition", "forget-cancel", member_id)),
                )
            ),
        ),
        private=True,
    )


async def forget_confirmed(ctx: ActionContext) -> Reply:
    if ctx.member is None or str(ctx.member.id) != ctx.params["member"]:
        return error(_("That button is for someone else's data. Use `/coalition forget-me` for your own."))
    if await ctx.services.governance.is_last_coordinator(ctx.member):
        return error(_("You're the only coordinator; make someone else a coordinator first (`/coalition role`)."))
    await ctx.services.governance.forget(ctx.member)
    return Reply(
        _("Done: everything the bot held about you is erased. If you use the bot again you'll join as a new member."),
        private=True,
        replace_original=True,
    )


async def forget_cancelled(ctx: ActionContext) -> Reply:
    return Reply(_("Nothing was erased."), private=True, replace_original=True)


ROLE = CommandSpec(
    name="role",
    description=N_("Make a member a coordinator, member or observer"),
    options=(
        OptionSpec("member", OptionType.USER, N_("the member"), required=True, positional=True),
        OptionSpec(
            "role",
            OptionType.CHOICE,
            N_("their role"),
            required=True,
            positional=True,
            choices=tuple(role.value for role in Role),
        ),
    ),
    permission=Permission.COORDINATOR,
    scope=Scope.COALITION,
    handler=role,
    examples=(N_("/coalition role @maria coordinator"), N_("/coalition role @visitor observer")),
)
AUDIT = CommandSpec(
    name="audit",
    description=N_("Coordinator actions: who did what, when (optionally as CSV)"),
    options=(
        OptionSpec("since", OptionType.DURATION, N_("how far back (default 30d)"), max_value=366 * 86400),
        OptionSpec("csv", OptionType.BOOL, N_("also as a CSV file"), default=False),
    ),
    permission=Permission.COORDINATOR,
    scope=Scope.COALITION,
    handler=audit,
    audited=False,
    examples=(N_("/coalition audit"), N_("/coalition audit --since 90d --csv")),
)
MY_DATA = CommandSpec(
    name="my-data",
    description=N_("Everything the bot holds about you, sent privately as JSON"),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=my_data,
)
FORGET_ME = CommandSpec(
    name="forget-me",
    description=N_("Erase everything the bot holds about you (asks first)"),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=forget_me,
)
ACTIONS = (
    ActionSpec("coalition:forget", forget_confirmed, Permission.MEMBER, scope=Scope.COALITION, params=("member",)),
    ActionSpec(
        "coalition:forget-cancel", forget_cancelled, Permission.MEMBER, scope=Scope.COALITION, params=("member",)
    ),
)
