"""`/broadcast`: one update to every linked channel, on every platform, with acknowledgements."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import N_
from bot.markup import timestamp, user_text
from bot.permissions import Permission
from bot.replies import Actions, Block, Button, Reply, Section, action_id, error
from bot.services.broadcasts import BroadcastProblem
from bot.services.governance import RateLimit
from bot.text import plural
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope
from storage.models import Broadcast

MAX_TEXT = 2000


async def _find(ctx: CommandContext | ActionContext, broadcast_id: int) -> Broadcast:
    broadcast = await ctx.services.broadcasts.find(ctx.coalition.id or 0, broadcast_id)
    if broadcast is None:
        raise CommandError(f"There is no broadcast #{broadcast_id}. `/broadcast list` shows the recent ones.")
    return broadcast


async def send(ctx: CommandContext) -> Reply:
    try:
        broadcast, channels = await ctx.services.broadcasts.create(
            ctx.coalition.id or 0,
            ctx.me,
            ctx.args["text"],
            ctx.args["to"],
            ctx.args["at"],
            ctx.args["ack"],
        )
    except BroadcastProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = f"broadcast #{broadcast.id} to {plural(len(channels), 'channel')}" + (
        f" tagged {','.join(ctx.args['to'])}" if ctx.args["to"] else ""
    )
    where = "channel" if len(channels) == 1 else "channels"
    tagged = f" tagged {user_text(', '.join(ctx.args['to']))}" if ctx.args["to"] else ""
    when = f"at {timestamp(broadcast.send_at)}" if ctx.args["at"] else "now"
    return Reply(
        f"Broadcast #{broadcast.id} goes to {len(channels)} {where}{tagged} {when}. "
        f"You'll get a delivery report; `/broadcast status {broadcast.id}` shows deliveries and acknowledgements.",
        private=True,
    )


async def list_broadcasts(ctx: CommandContext) -> Reply:
    recent = await ctx.services.broadcasts.recent(ctx.coalition.id or 0)
    if not recent:
        return Reply('No broadcasts yet. Coordinators send one with `/broadcast send "text"`.', private=True)
    lines = ["**Recent broadcasts**"]
    for b in recent:
        counts, acks = await ctx.services.broadcasts.delivery_counts(b)
        state = "cancelled" if b.status == "cancelled" else f"delivered {counts.get('sent', 0)} of {b.target_count}"
        preview = b.text if len(b.text) <= 60 else b.text[:57] + "..."
        lines.append(f"• #{b.id} {timestamp(b.send_at, 'f')}: {user_text(preview)} ({state}; {acks} acknowledged)")
    return Reply("\n".join(lines), private=True)


async def cancel(ctx: CommandContext) -> Reply:
    broadcast = await _find(ctx, ctx.args["id"])
    if broadcast.status == "cancelled":
        return error(f"Broadcast #{broadcast.id} is already cancelled.")
    withdrawn, delivered = await ctx.services.broadcasts.cancel(broadcast)
    ctx.audit_note = f"broadcast #{broadcast.id}"
    if withdrawn == 0:
        return error(f"Broadcast #{broadcast.id} has already gone out to every channel; nothing left to cancel.")
    note = f" {plural(delivered, 'channel')} had already received it." if delivered else ""
    return Reply(
        f"Broadcast #{broadcast.id} is cancelled: withdrawn from {plural(withdrawn, 'channel')}.{note}", private=True
    )


async def status(ctx: CommandContext) -> Reply:
    state = await ctx.services.broadcasts.status(await _find(ctx, ctx.args["id"]))
    b = state.broadcast
    lines = [
        f"**Broadcast #{b.id}** by {user_text(state.author)}, "
        f"{'cancelled' if b.status == 'cancelled' else 'for ' + timestamp(b.send_at)}: {user_text(b.text[:200])}",
        f"Delivered {state.counts['sent']} · pending {state.counts['pending'] + state.counts['sending']}"
        f" · failed {state.counts['failed']} · cancelled {state.counts['cancelled']}",
    ]
    lines += [f"• {user_text(d.channel)} on {d.platform}: {d.detail}" for d in state.deliveries]
    if not b.ack_enabled:
        lines.append("Acknowledgements are off for this broadcast.")
    else:
        lines.append(f"**Acknowledged by {len(state.acks)} member{'s' if len(state.acks) != 1 else ''}**")
        if state.acks:
            lines.append(
                "By channel: " + ", ".join(f"{user_text(k)} {v}" for k, v in sorted(state.acks_by_channel.items()))
            )
            lines.append(
                "By sector: " + ", ".join(f"{user_text(k)} {v}" for k, v in sorted(state.acks_by_sector.items()))
            )
            named = [m for _, m in state.acks if m is not None]
            names = ", ".join(user_text(m.display_name or m.user_id) for m in named[:20])
            more = f" and {len(named) - 20} more" if len(named) > 20 else ""
            if len(named) < len(state.acks):
                more += f" (and {plural(len(state.acks) - len(named), 'former member', 'former members')})"
            lines.append(f"Who: {names}{more}")
    return Reply("\n".join(lines), private=True)


async def nudge(ctx: CommandContext) -> Reply:
    broadcast = await _find(ctx, ctx.args["id"])
    if not broadcast.ack_enabled:
        return error(f"Broadcast #{broadcast.id} does not ask for acknowledgements, so there is no one to remind.")
    if broadcast.status == "cancelled":
        return error(f"Broadcast #{broadcast.id} was cancelled.")
    count = await ctx.services.broadcasts.nudge(broadcast, ctx.me)
    ctx.audit_note = f"broadcast #{broadcast.id}: {plural(count, 'member')} reminded"
    if count == 0:
        return Reply(f"Everyone has acknowledged broadcast #{broadcast.id}. Nobody to remind.", private=True)
    return Reply(
        f"Reminding {plural(count, 'member')} privately to acknowledge broadcast #{broadcast.id}.", private=True
    )


async def acknowledge(ctx: ActionContext) -> Reply:
    broadcast = await ctx.services.broadcasts.find(ctx.coalition.id or 0, int(ctx.params["broadcast"]))
    if broadcast is None or not broadcast.ack_enabled:
        return error("That broadcast no longer exists.")
    recorded = await ctx.services.broadcasts.acknowledge(broadcast, ctx.me, ctx.channel)
    if recorded is None:
        earlier = await ctx.services.broadcasts.acknowledged_at(broadcast, ctx.me)
        when = f" {timestamp(earlier, 'R')}" if earlier else ""
        return Reply(f"You already acknowledged broadcast #{broadcast.id}{when}. Thank you!", private=True)
    return Reply(f"Thanks: your acknowledgement of broadcast #{broadcast.id} is recorded.", private=True)


async def awaiting_acknowledgement(ctx: CommandContext) -> list[Block]:
    """Home section: recent broadcasts this member has not acknowledged yet."""
    waiting = await ctx.services.broadcasts.awaiting_acknowledgement(ctx.coalition.id or 0, ctx.me, ctx.now)
    if not waiting:
        return [Section("**Broadcasts**\nYou're up to date: nothing waiting for your acknowledgement.")]
    blocks: list[Block] = [Section(f"**Broadcasts waiting for your acknowledgement** ({len(waiting)})")]
    for b in waiting[:5]:
        preview = b.text if len(b.text) <= 200 else b.text[:197] + "..."
        blocks.append(Section(f"#{b.id}, {timestamp(b.send_at, 'R')}: {user_text(preview)}"))
        blocks.append(Actions((Button("Acknowledge", action_id("broadcast", "ack", b.id or 0), "primary"),)))
    return blocks


async def complete_broadcast(ctx: CommandContext, typed: str) -> list[tuple[str, str]]:
    found = []
    for b in await ctx.services.broadcasts.recent(ctx.coalition.id or 0, limit=25):
        label = f"#{b.id} {b.text[:60]}"
        if not typed or typed in str(b.id) or typed in b.text.lower():
            found.append((label[:100], str(b.id)))
    return found


_ID = OptionSpec(
    "id",
    OptionType.INT,
    N_("the broadcast's number"),
    required=True,
    positional=True,
    min_value=1,
    complete="broadcast",
)

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
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=send,
            rate_limit=RateLimit(5, timedelta(minutes=10)),
            modal=True,
            submit_label="Send",
            examples=(
                '/broadcast send "Community walk moved to Saturday 10am"',
                '/broadcast send "Youth forum tonight" --to residents,youth --at "friday 9am"',
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
            examples=("/broadcast status 3",),
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
