"""The OAuth2 link that adds the bot to a server, with exactly the permissions it uses."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

import discord

# View channels and read their history (to find its own message after a crash), send messages and
# embeds. Nothing else: no threads, no managing, no mentions of @everyone, no reading members'
# messages' content. (Files go out as interaction replies, which need no channel permission.)
PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True, read_message_history=True)
SCOPES = ("bot", "applications.commands")


def application_id_from_token(token: str) -> int | None:
    """A bot token's first part is its user id, which is the application's id, in base64."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return int(decoded) if decoded.isdigit() else None


def invite_url(application_id: int) -> str:
    query = urlencode({"client_id": application_id, "scope": " ".join(SCOPES), "permissions": PERMISSIONS.value})
    return f"https://discord.com/oauth2/authorize?{query}"
