"""A member's home view (Slack's App Home): who they are here, then each feature's section."""

from __future__ import annotations

from bot.markup import user_text
from bot.replies import Block, Context, Divider, Reply, Section
from bot.text import plural
from commands.context import CommandContext


async def home(ctx: CommandContext) -> Reply:
    me = ctx.me
    channels = await ctx.services.coalitions.channels(ctx.coalition)
    head = (
        f"**{user_text(ctx.coalition.name)}**\nYou are a {me.role}. Times are shown in {ctx.zone.key}. "
        f"{len(channels)} linked channel{'s' if len(channels) != 1 else ''} across "
        f"{plural(len({c.platform for c in channels}), 'platform')}."
    )
    blocks: list[Block] = [Section(head), Divider()]
    for section in ctx.registry.home_sections:
        blocks.extend(await section(ctx))
        blocks.append(Divider())
    blocks.append(Context("Type `/coalition help` in any channel to see every command."))
    return Reply(text=head, blocks=tuple(blocks), private=True)
