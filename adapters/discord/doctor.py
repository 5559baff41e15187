"""What `doctor` finds wrong on Discord: the token, and the bot's permissions in each linked channel.

Discord does not tell a bot its permissions in a channel it is not being used in; they are worked
out from the server's roles, the bot's roles and the channel's overwrites, in the order Discord
documents ("Permission Overwrites", Permissions topic). A channel where the bot cannot send is the
usual reason "the Discord channel gets nothing", so each such channel gets its own line and fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord

from adapters.discord.invite import PERMISSIONS
from bot.config import ConfigError, Settings

ADMINISTRATOR = discord.Permissions(administrator=True).value
ALL = discord.Permissions.all().value
NAMES = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}


def channel_permissions(
    guild: Mapping[str, Any], member: Mapping[str, Any], channel: Mapping[str, Any], user_id: str
) -> discord.Permissions:
    """The member's permissions in the channel, from the REST objects, as Discord computes them."""
    if str(guild.get("owner_id")) == user_id:
        return discord.Permissions(ALL)
    roles = {str(r["id"]): int(r["permissions"]) for r in guild.get("roles", [])}
    guild_id = str(guild["id"])
    mine = [str(r) for r in member.get("roles", [])]
    value = roles.get(guild_id, 0)  # @everyone's role has the server's id
    for role in mine:
        value |= roles.get(role, 0)
    if value & ADMINISTRATOR:
        return discord.Permissions(ALL)
    overwrites = {str(o["id"]): (int(o["allow"]), int(o["deny"])) for o in channel.get("permission_overwrites", [])}
    allow, deny = overwrites.get(guild_id, (0, 0))
    value = (value & ~deny) | allow
    allow = deny = 0
    for role in mine:
        role_allow, role_deny = overwrites.get(role, (0, 0))
        allow |= role_allow
        deny |= role_deny
    value = (value & ~deny) | allow
    allow, deny = overwrites.get(user_id, (0, 0))
    value = (value & ~deny) | allow
    found = discord.Permissions(value)
    if not found.view_channel:
        return discord.Permissions.none()  # a channel it cannot see grants nothing else
    if not found.send_messages:  # Discord's implicit rule: what rides on a message goes with it
        found.embed_links = found.attach_files = found.mention_everyone = found.send_tts_messages = False
    return found


def missing_names(granted: discord.Permissions) -> list[str]:
    """What the bot needs (the invite's permissions) and lacks, in the words of Discord's settings."""
    return [label for flag, label in NAMES.items() if getattr(PERMISSIONS, flag) and not getattr(granted, flag)]


async def doctor(settings: Settings, channels: list[tuple[str, str, str]]) -> list[str]:
    from adapters.discord.app import login, point_at

    point_at(settings)
    intents = discord.Intents.none()
    intents.guilds = True  # without it discord.py warns, though this uses no gateway at all
    client = discord.Client(intents=intents)
    problems: list[str] = []
    try:
        try:
            await login(client, settings)
        except ConfigError as exc:
            return [f"Discord: {exc}."]
        assert client.user is not None
        me = str(client.user.id)
        guilds: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]] | None] = {}
        for _, channel_id, name in channels:
            try:
                channel = await client.http.get_channel(channel_id)
            except discord.HTTPException as exc:
                problems.append(
                    f"Discord: #{name} ({channel_id}) cannot be seen ({exc.status}): the channel was deleted, or the "
                    "bot was removed from its server; invite it again with `coalition-bot discord invite`."
                )
                continue
            guild_id = str(channel.get("guild_id") or "")
            if not guild_id:
                continue  # a private conversation: no permissions to check
            if guild_id not in guilds:
                try:
                    guilds[guild_id] = (
                        await client.http.get_guild(guild_id, with_counts=False),
                        await client.http.get_member(guild_id, me),
                    )
                except discord.HTTPException:
                    guilds[guild_id] = None
            found = guilds[guild_id]
            if found is None:
                problems.append(
                    f"Discord: the bot is not in the server of #{name} ({channel_id}): invite it with "
                    "`coalition-bot discord invite`."
                )
                continue
            missing = missing_names(channel_permissions(found[0], found[1], channel, me))
            if missing:
                problems.append(
                    f"Discord: the bot lacks {', '.join(missing)} in #{name} ({channel_id}): in Discord, open the "
                    "channel's settings > Permissions, add the bot's role and allow "
                    f"{'them' if len(missing) > 1 else 'it'}."
                )
    finally:
        await client.close()
    return problems
