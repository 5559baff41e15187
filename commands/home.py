"""A member's home view (Slack's App Home): who they are here, then each feature's section."""

from __future__ import annotations

from bot.i18n import _
from bot.markup import user_text
from bot.replies import Block, Context, Divider, Reply, Section
from bot.text import plural
from commands.context import CommandContext


async def home(ctx: CommandContext) -> Reply:
    me = ctx.me
    channels = await ctx.services.coalitions.channels(ctx.coalition)
    head = _(
        "**{name}**\nYou are a {role}. Times are shown in {key}. {channels} linked channel{value} across {plural}."
    ).format(
        name=user_text(ctx.coalition.name),
        role=me.role,
        key=ctx.zone.key,
        channels=len(channels),
        value="s" if len(channels) != 1 else "",
        plural=plural(len({c.platform for c in channels}), "platform"),
    )
    blocks: list[Block] = [Section(head), Divider()]
    for section in ctx.registry.home_sections:
        blocks.extend(await section(ctx))
        blocks.append(Divider())
    blocks.append(Context(_("Type `/coalition help` in any channel to see every command.")))
    return Reply(text=head, blocks=tuple(blocks), private=True)
