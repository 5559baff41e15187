"""`/broadcast`: one update to every linked channel, on every platform, with acknowledgements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.i18n import N_, _, ngettext
from bot.markup import timestamp, user_text
from bot.permissions import Permission
from bot.replies import Actions, Block, Button, Reply, Section, action_id, error
from bot.sectors import sector_name
from bot.services.broadcasts import BroadcastProblem
from bot.services.governance import RateLimit
from bot.views import BroadcastView, ChannelView
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError
from commands.languages_content import second_given, second_language_options
from commands.numbered import id_option, suggestions
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope

MAX_TEXT = 2000


async def _find(ctx: CommandContext | ActionContext, broadcast_id: int) -> BroadcastView:
    broadcast = await ctx.services.broadcasts.find(ctx.coalition.id or 0, broadcast_id)
    if broadcast is None:
        raise CommandError(
            _("There is no broadcast #{id}. `/broadcast list` shows the recent ones.").format(id=broadcast_id)
        )
    return broadcast


def _channels(count: int) -> str:
    return ngettext("{count} channel", "{count} channels", count).format(count=count)


def _reaching(channels: Sequence[ChannelView]) -> str:
    """ "2 channels", or "1 channel and 3 members on email": to a coordinator, a member's own
    mailbox is not a channel."""
    own = sum(1 for c in channels if c.every_announcement)
    members = ngettext("{count} member on email", "{count} members on email", own).format(count=own)
    if own == len(channels):
        return members
    shared = _channels(len(channels) - own)
    return _("{channels} and {members}").format(channels=shared, members=members) if own else shared


async def send(ctx: CommandContext) -> Reply:
    try:
        second = second_given(ctx)
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    try:
        broadcast, channels = await ctx.services.broadcasts.create(
            ctx.coalition.id or 0,
            ctx.me,
            ctx.args["text"],
            ctx.args["to"],
            ctx.args["at"],
            ctx.args["ack"],
            public=bool(ctx.args["public"]),
            second=(second[0], str(second[1])) if second else None,
        )
    except BroadcastProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("broadcast #{id} to {channels}").format(id=broadcast.id, channels=_reaching(channels))
    if ctx.args["to"]:
        ctx.audit_note += " " + _("tagged {tags}").format(tags=",".join(ctx.args["to"]))
    where = _reaching(channels)
    if ctx.args["to"]:
        where = _("{channels} tagged {tags}").format(channels=where, tags=user_text(", ".join(ctx.args["to"])))
    when = _("at {when}").format(when=timestamp(broadcast.send_at)) if ctx.args["at"] else _("now")
    return Reply(
        _(
            "Broadcast #{id} goes to {where} {when}. You'll get a delivery report; `/broadcast status {id}` shows "
            "deliveries and acknowledgements."
        ).format(id=broadcast.id, where=where, when=when),
        private=True,
    )


async def list_broadcasts(ctx: CommandContext) -> Reply:
    recent = await ctx.services.broadcasts.recent(ctx.coalition.id or 0)
    if not recent:
        return Reply(_('No broadcasts yet. Coordinators send one with `/broadcast send "text"`.'), private=True)
    lines = [_("**Recent broadcasts**")]
    for b in recent:
        counts, acks = await ctx.services.broadcasts.delivery_counts(b)
        if b.status == "cancelled":
            state = _("cancelled")
        else:
            state = _("delivered {sent} of {total}").format(sent=counts.get("sent", 0), total=b.target_count)
        preview = b.text if len(b.text) <= 60 else b.text[:57] + "..."
        line = _("• #{id} {when}: {preview} ({state}; {acks} acknowledged)").format(
            id=b.id, when=timestamp(b.send_at, "f"), preview=user_text(preview), state=state, acks=acks
        )
        lines.append(line)
    return Reply("\n".join(lines), private=True)


async def cancel(ctx: CommandContext) -> Reply:
    broadcast = await _find(ctx, ctx.args["id"])
    if broadcast.status == "cancelled":
        return error(_("Broadcast #{id} is already cancelled.").format(id=broadcast.id))
    withdrawn, delivered = await ctx.services.broadcasts.cancel(broadcast)
    ctx.audit_note = _("broadcast #{id}").format(id=broadcast.id)
    if withdrawn == 0:
        return error(
            _("Broadcast #{id} has already gone out to every channel; nothing left to cancel.").format(id=broadcast.id)
        )
    said = _("Broadcast #{id} is cancelled: withdrawn from {channels}.").format(
        id=broadcast.id, channels=_channels(withdrawn)
    )
    if delivered:
        said += " " + ngettext(
            "{count} channel had already received it.", "{count} channels had already received it.", delivered
        ).format(count=delivered)
    return Reply(said, private=True)


async def status(ctx: CommandContext) -> Reply:
    state = await ctx.services.broadcasts.status(await _find(ctx, ctx.args["id"]))
    b = state.broadcast
    when = _("cancelled") if b.status == "cancelled" else _("for {when}").format(when=timestamp(b.send_at))
    lines = [
        _("**Broadcast #{id}** by {author}, {when}: {text}").format(
            id=b.id, author=user_text(state.author), when=when, text=user_text(b.text[:200])
        ),
        _("Delivered {sent} · pending {pending} · failed {failed} · cancelled {cancelled}").format(
            sent=state.counts["sent"],
            pending=state.counts["pending"] + state.counts["sending"],
            failed=state.counts["failed"],
            cancelled=state.counts["cancelled"],
        ),
    ]
    lines += [
        _("• {channel} on {platform}: {detail}").format(
            channel=user_text(d.channel), platform=ctx.platform_title(d.platform), detail=d.detail
        )
        for d in state.deliveries
    ]
    if not b.ack_enabled:
        lines.append(_("Acknowledgements are off for this broadcast."))
    else:
        lines.append(
            ngettext(
                "**Acknowledged by {count} member**", "**Acknowledged by {count} members**", len(state.acks)
            ).format(count=len(state.acks))
        )
        if state.acks:
            by_channel = ", ".join(f"{user_text(k)} {v}" for k, v in sorted(state.acks_by_channel.items()))
            by_sector = ", ".join(f"{user_text(sector_name(k))} {v}" for k, v in sorted(state.acks_by_sector.items()))
            lines.append(_("By channel: {counts}").format(counts=by_channel))
            lines.append(_("By sector: {counts}").format(counts=by_sector))
            named = [m for _ack, m in state.acks if m is not None]
            names = ", ".join(user_text(m.display_name or m.user_id) for m in named[:20])
            if len(named) > 20:
                names += " " + _("and {count} more").format(count=len(named) - 20)
            if len(named) < len(state.acks):
                gone = len(state.acks) - len(named)
                names += " " + ngettext("(and {count} former member)", "(and {count} former members)", gone).format(
                    count=gone
                )
            lines.append(_("Who: {names}").format(names=names))
    return Reply("\n".join(lines), private=True)


async def nudge(ctx: CommandContext) -> Reply:
    broadcast = await _find(ctx, ctx.args["id"])
    if not broadcast.ack_enabled:
        return error(
            _("Broadcast #{id} does not ask for acknowledgements, so there is no one to remind.").format(
                id=broadcast.id
            )
        )
    if broadcast.status == "cancelled":
        return error(_("Broadcast #{id} was cancelled.").format(id=broadcast.id))
    await ctx.services.broadcasts.nudge(broadcast, ctx.me)
    ctx.audit_note = _("broadcast #{id}: reminder asked").format(id=broadcast.id)
    return Reply(
        _("Reminding those who have not acknowledged broadcast #{id}, privately; you will be told how many.").format(
            id=broadcast.id
        ),
        private=True,
    )


async def acknowledge(ctx: ActionContext) -> Reply:
    broadcast = await ctx.services.broadcasts.find(ctx.coalition.id or 0, int(ctx.params["broadcast"]))
    if broadcast is None or not broadcast.ack_enabled:
        return error(_("That broadcast no longer exists."))
    recorded = await ctx.services.broadcasts.acknowledge(broadcast, ctx.me, ctx.channel)
    if recorded is None:
        earlier = await ctx.services.broadcasts.acknowledged_at(broadcast, ctx.me)
        if earlier:
            said = _("You already acknowledged broadcast #{id} {when}. Thank you!")
        else:
            said = _("You already acknowledged broadcast #{id}. Thank you!")
        return Reply(said.format(id=broadcast.id, when=timestamp(earlier, "R") if earlier else ""), private=True)
    return Reply(
        _("Thanks: your acknowledgement of broadcast #{id} is recorded.").format(id=broadcast.id), private=True
    )


async def awaiting_acknowledgement(ctx: CommandContext) -> list[Block]:
    """Home section: recent broadcasts this member has not acknowledged yet."""
    waiting = await ctx.services.broadcasts.awaiting_acknowledgement(ctx.coalition.id or 0, ctx.me, ctx.now)
    if not waiting:
        return [Section(_("**Broadcasts**\nYou're up to date: nothing waiting for your acknowledgement."))]
    heading = _("**Broadcasts waiting for your acknowledgement** ({count})").format(count=len(waiting))
    blocks: list[Block] = [Section(heading)]
    for b in waiting[:5]:
        preview = b.text if len(b.text) <= 200 else b.text[:197] + "..."
        blocks.append(Section(f"#{b.id}, {timestamp(b.send_at, 'R')}: {user_text(preview)}"))
        blocks.append(Actions((Button(_("Acknowledge"), action_id("broadcast", "ack", b.id or 0), "primary"),)))
    return blocks


async def complete_broadcast(ctx: CommandContext, typed: str) -> list[tuple[str, str]]:
    recent = await ctx.services.broadcasts.recent(ctx.coalition.id or 0, limit=25)
    return suggestions(typed, ((b.id, b.text, b.text[:60]) for b in recent))


_ID = id_option(N_("the broadcast's number"), complete="broadcast")

BROADCAST = CommandSpec(
    name="broadcast",
    description=N_("Send an update to every linked channel, and see who has read it"),
    subcommands=(
        CommandSpec(
            name="send",
            description=N_("Send an update to all linked channels, or the tagged ones"),
            options=(
                OptionSpec(
                    "text", OptionType.TEXT, N_("the update"), required=True, positional=True, max_length=MAX_TEXT
                ),
                OptionSpec(
                    "to", OptionType.TAGS, N_("only the channels with these tags (default: every linked channel)")
                ),
                OptionSpec("at", OptionType.DATETIME, N_("send later, at this time")),
                OptionSpec(
                    "ack", OptionType.BOOL, N_("ask members to acknowledge (on unless turned off)"), default=True
                ),
                OptionSpec("public", OptionType.BOOL, N_("also show it on the coalition's public page"), default=False),
                *second_language_options(max_length=MAX_TEXT),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=send,
            rate_limit=RateLimit(5, timedelta(minutes=10)),
            modal=True,
            submit_label=N_("Send"),
            examples=(
                N_('/broadcast send "Community walk moved to Saturday 10am"'),
                N_('/broadcast send "Youth forum tonight" --to residents,youth --at "friday 9am"'),
            ),
        ),
        CommandSpec(
            name="list",
            description=N_("Recent broadcasts with deliveries and acknowledgements"),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=list_broadcasts,
        ),
        CommandSpec(
            name="status",
            description=N_("Per channel: delivered, pending or failed; who acknowledged"),
            options=(_ID,),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=status,
            audited=False,
            examples=(N_("/broadcast status 3"),),
        ),
        CommandSpec(
            name="cancel",
            description=N_("Withdraw a broadcast that has not gone out yet"),
            options=(_ID,),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=cancel,
        ),
        CommandSpec(
            name="nudge",
            description=N_("Privately remind members who have not acknowledged"),
            options=(_ID,),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=nudge,
        ),
    ),
)

ACKNOWLEDGE = ActionSpec(
    "broadcast:ack", acknowledge, Permission.MEMBER, scope=Scope.COALITION, params=("broadcast",), batched=True
)
