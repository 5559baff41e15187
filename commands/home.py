"""A member's home view (Slack's App Home): who they are here, then each feature's section."""

from __future__ import annotations

from bot.i18n import _, ngettext
from bot.markup import user_text
from bot.permissions import role_name
from bot.replies import Block, Context, Divider, Reply, Section
from commands.context import CommandContext


async def home(ctx: CommandContext) -> Reply:
    me = ctx.me
    channels = await ctx.services.coalitions.channels(ctx.coalition)
    platforms = len({c.platform for c in channels})
    linked = ngettext(
        "{count} linked channel across {platforms}.", "{count} linked channels across {platforms}.", len(channels)
    ).format(count=len(channels), platforms=ngettext("{n} platform", "{n} platforms", platforms).format(n=platforms))
    head = _("**{name}**\nYou are a {role}. Times are shown in {zone}.").format(
        name=user_text(ctx.coalition.name), role=role_name(me.role), zone=ctx.zone.key
    )
    head += " " + linked
    blocks: list[Block] = [Section(head), Divider()]
    for section in ctx.registry.home_sections:
        blocks.extend(await section(ctx))
        blocks.append(Divider())
    blocks.append(Context(_("Type `/coalition help` in any channel to see every command.")))
    return Reply(text=head, blocks=tuple(blocks), private=True)
