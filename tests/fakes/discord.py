"""A loopback fake of Discord: the REST API and the gateway, on one free port.

The gateway speaks what discord.py expects of a plain Client: HELLO (op 10), IDENTIFY (op 2),
READY with `resume_gateway_url`, GUILD_CREATE, heartbeats (op 1 / op 11), all in one zlib stream
whose messages end in 00 00 ff ff. REST answers JSON with `Content-Type: application/json`
exactly, and rate limits the way Discord does (429 with a `Via` header and `retry_after`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes import limits

APP_ID = "1100000000000000001"
TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GfakeA.abcdefghijklmnopqrstuvwxyz0123456789"
GUILD = "2200000000000000001"
BOT_USER = {
    "id": APP_ID,
    "username": "coalition-bot",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "global_name": None,
}
MANAGE_GUILD = 1 << 5
ALL = (1 << 41) - 1


SEND_NEEDS = (1 << 10) | (1 << 11)  # View Channel, Send Messages
ADMINISTRATOR = 1 << 3
BOT_ROLE = "2200000000000000002"  # the role Discord makes for a bot when it joins, named after it


class FakeDiscord:
    def __init__(self) -> None:
        self.locales: dict[str, str] = {}  # user id -> the language their Discord is set to (default en-US)
        self.bot_permissions: dict[str, int] = {}  # channel -> the bot's permissions there (default: all)
        self.refused: list[str] = []  # payloads Discord would have refused, and why (tests assert none)
        self.port = 0
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._sources: dict[str, tuple[str, str]] = {}  # a component interaction's message
        self.callbacks: list[dict[str, Any]] = []  # interaction responses, with their type
        self.followups: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> synced commands
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[str, list[int]] = defaultdict(list)  # "POST /channels/{id}/messages" -> statuses
        self.enforce_pacing = False
        self.rate_limited = 0
        self.identified = asyncio.Event()
        self.ready_sent = asyncio.Event()
        self.heartbeats = 0
        self.heartbeat_interval = 41250
        self._ids = itertools.count(3300000000000000001)
        self._seq = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None
        self._zlib: Any = None
        self._window: dict[str, list[float]] = defaultdict(list)
        self._global: list[float] = []
        self._nonces: dict[tuple[str, str], dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self.channel("4400000000000000001", "general")

    # Set-up --------------------------------------------------------------------------------

    def channel(self, channel_id: str, name: str) -> str:
        self.channels[channel_id] = {
            "id": channel_id,
            "type": 0,
            "name": name,
            "guild_id": GUILD,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        return channel_id

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # Gateway -------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self._ws = ws
        self._zlib = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        await self._send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval}, "s": None, "t": None})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["op"] == 1:
                self.heartbeats += 1
                await self._send({"op": 11, "d": None, "s": None, "t": None})
            elif data["op"] == 2:
                self.identified.set()
                await self.dispatch(
                    "READY",
                    {
                        "v": 10,
                        "user": BOT_USER,
                        "guilds": [{"id": GUILD, "unavailable": True}],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.gateway_url,
                        "application": {"id": APP_ID, "flags": 0},
                        "private_channels": [],
                        "relationships": [],
                    },
                )
                await self.dispatch("GUILD_CREATE", self._guild())
                self.ready_sent.set()
        return ws

    async def _send(self, payload: dict[str, Any]) -> None:
        assert self._ws is not None
        raw = json.dumps(payload).encode()
        if self._zlib is not None:
            await self._ws.send_bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        else:
            await self._ws.send_str(raw.decode())

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        await self._send({"op": 0, "s": next(self._seq), "t": event, "d": data})

    def _guild(self) -> dict[str, Any]:
        return {
            "id": GUILD,
            "name": "Northside Residents",
            "icon": None,
            "owner_id": "5500000000000000001",
            "roles": [
                {
                    "id": GUILD,
                    "name": "@everyone",
                    "permissions": "1024",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                },
                {
                    "id": BOT_ROLE,
                    "name": "coalition-bot",
                    "permissions": str(ALL & ~ADMINISTRATOR),
                    "position": 1,
                    "color": 0,
                    "hoist": False,
                    "managed": True,
                    "mentionable": False,
                    "flags": 0,
                    "tags": {"bot_id": APP_ID},
                },
            ],
            "channels": list(self.channels.values()),
            "members": [],
            "member_count": 3,
            "emojis": [],
            "stickers": [],
            "features": [],
            "unavailable": False,
            "large": False,
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "voice_states": [],
            "presences": [],
            "joined_at": _now(),
            "mfa_level": 0,
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "afk_timeout": 300,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "system_channel_flags": 0,
            "description": None,
            "banner": None,
            "splash": None,
        }

    # Interactions, as Discord sends them ----------------------------------------------------

    def member(self, user_id: str, name: str, *, manage_guild: bool = False) -> dict[str, Any]:
        return {
            "user": {
                "id": user_id,
                "username": name.lower(),
                "global_name": name,
                "discriminator": "0",
                "avatar": None,
            },
            "roles": [],
            "permissions": str(ALL if manage_guild else 1024 | 2048),
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
        }

    def _interaction(
        self, kind: int, data: dict[str, Any], member: dict[str, Any], channel_id: str, **extra: Any
    ) -> dict[str, Any]:
        interaction_id = str(next(self._ids))
        return {
            "id": interaction_id,
            "application_id": APP_ID,
            "type": kind,
            "token": f"token-{interaction_id}",
            "version": 1,
            "guild_id": GUILD,
            "channel_id": channel_id,
            "channel": {**self.channels[channel_id], "permissions": str(ALL)},
            "member": member,
            "data": data,
            "locale": self.locales.get(member["user"]["id"], "en-US"),
            "guild_locale": "en-US",
            "app_permissions": str(self.bot_permissions.get(channel_id, ALL)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD},
            "context": 0,
            "attachment_size_limit": 26214400,
            **extra,
        }

    async def slash(
        self, command: str, sub: str, options: dict[str, Any], member: dict[str, Any], channel_id: str
    ) -> dict[str, Any]:
        types = {bool: 5, int: 4}
        data = {
            "id": "6600000000000000001",
            "name": command,
            "type": 1,
            "options": [
                {
                    "type": 1,
                    "name": sub,
                    "options": [{"name": k, "type": types.get(type(v), 3), "value": v} for k, v in options.items()],
                }
            ],
        }
        return await self._inject(self._interaction(2, data, member, channel_id))

    def posted_message(
        self, channel_id: str, embeds: list[Any], components: list[Any], *, flags: int = 0
    ) -> dict[str, Any]:
        """A message as Discord would include it in a component interaction: one the bot posted."""
        return {
            "id": str(next(self._ids)),
            "channel_id": channel_id,
            "author": BOT_USER,
            "content": "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds,
            "pinned": False,
            "type": 0,
            "flags": flags,
            "components": components,
        }

    async def click(
        self, custom_id: str, message: dict[str, Any], member: dict[str, Any], *, values: list[str] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": 3 if values else 2}
        if values:
            data["values"] = values
        interaction = self._interaction(3, data, member, message["channel_id"], message=message)
        self._sources[interaction["id"]] = (message["channel_id"], message["id"])
        return await self._inject(interaction)

    async def submit(
        self, custom_id: str, fields: dict[str, str], member: dict[str, Any], channel_id: str
    ) -> dict[str, Any]:
        shown = [c["data"] for c in self.callbacks if c["type"] == 9 and c["data"].get("custom_id") == custom_id]
        typed = limits.discord_typed(shown[-1], fields) if shown else []
        if typed:
            raise AssertionError(f"Discord would not let a member type this: {typed}")
        data = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in fields.items()
            ],
        }
        return await self._inject(self._interaction(5, data, member, channel_id))

    async def _inject(self, interaction: dict[str, Any], within: float = 10) -> dict[str, Any]:
        """Send INTERACTION_CREATE and wait for the bot's callback to it."""
        await asyncio.wait_for(self.ready_sent.wait(), within)
        count = len(self.callbacks)
        await self.dispatch("INTERACTION_CREATE", interaction)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for callback in self.callbacks[count:]:
                if callback["interaction_id"] == interaction["id"]:
                    return callback
            await asyncio.sleep(0.02)
        raise AssertionError("the bot did not answer the interaction")

    # REST ----------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        interaction_callback = path.startswith(("/interactions/", "/webhooks/"))
        if not interaction_callback and request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else {}
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            body = json.loads(form.get("payload_json", "{}"))  # type: ignore[arg-type]
            described = {str(a.get("id")): a.get("description") for a in body.get("attachments") or []}
            for name, value in form.items():
                if name != "payload_json" and hasattr(value, "file"):
                    index = name.removeprefix("files[").removesuffix("]")
                    self.uploads.append(
                        {"filename": value.filename, "content": value.file.read(), "description": described.get(index)}
                    )
        self.requests.append((request.method, path))
        route = f"{request.method} {_shape(path)}"
        if self.fail[route]:
            status = self.fail[route].pop(0)
            if status == 429:
                self.rate_limited += 1
                return _json(
                    {"message": "You are being rate limited.", "retry_after": 0.5, "global": False}, 429, via=True
                )
            return _json({"message": "Server error", "code": 0}, status)
        if route == "GET /users/@me":
            return _json(BOT_USER)
        if route == "GET /oauth2/applications/@me":
            return _json(
                {
                    "id": APP_ID,
                    "name": "coalition-bot",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": {**BOT_USER, "id": "5500000000000000001", "bot": False},
                    "team": None,
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "interactions_endpoint_url": None,
                }
            )
        if route in ("PUT /applications/{id}/commands", "PUT /applications/{id}/guilds/{id}/commands"):
            if refused := self._invalid("commands", limits.discord_commands(body)):
                return refused
            scope = "global" if "guilds" not in path else path.split("/")[4]
            self.commands[scope] = [
                {**c, "id": str(next(self._ids)), "application_id": APP_ID, "version": "1"} for c in body
            ]
            return _json(self.commands[scope])
        if route == "GET /channels/{id}":
            return self._channel(path.split("/")[2])
        if route == "GET /guilds/{id}":
            return _json(self._guild()) if path.split("/")[2] == GUILD else _json(_UNKNOWN_GUILD, 404)
        if route == "GET /guilds/{id}/members/{id}":
            if path.split("/")[2] != GUILD or path.split("/")[4] != APP_ID:
                return _json({"message": "Unknown Member", "code": 10007}, 404)
            return _json({**self.member(APP_ID, "coalition-bot"), "user": BOT_USER, "roles": [BOT_ROLE]})
        if route == "POST /channels/{id}/messages":
            return self._create_message(path.split("/")[2], body)
        if route == "PATCH /channels/{id}/messages/{id}":
            return self._edit_message(path.split("/")[2], path.split("/")[4], body)
        if route == "GET /channels/{id}/messages":
            # As Discord: the newest first, and no nonce (only the send response and the gateway
            # event carry one; messages read back never do).
            limit = int(request.query.get("limit", 50))
            newest = list(reversed(self.messages[path.split("/")[2]]))[:limit]
            return _json([{k: v for k, v in m.items() if k != "nonce"} for m in newest])
        if route == "POST /users/@me/channels":
            channel_id = "77" + str(body["recipient_id"])[-17:]
            self.channels.setdefault(
                channel_id, {"id": channel_id, "type": 1, "name": None, "recipients": [], "last_message_id": None}
            )
            return _json(
                {
                    "id": channel_id,
                    "type": 1,
                    "recipients": [
                        {"id": str(body["recipient_id"]), "username": "m", "discriminator": "0", "avatar": None}
                    ],
                    "last_message_id": None,
                }
            )
        if route == "POST /interactions/{id}/{token}/callback":
            return self._callback(path.split("/")[2], body)
        if route == "POST /webhooks/{id}/{token}":
            if refused := self._invalid("follow-up", limits.discord_message(body)):
                return refused
            message = self._message(body, "followup")
            self.followups.append(message)
            return _json(message)
        return _json({"message": f"404: {route}", "code": 0}, 404)

    def _channel(self, channel_id: str) -> web.Response:
        """A channel as REST returns it; the bot's narrowed permissions there are an overwrite for
        the bot's member, as a server admin would set them in the channel's settings."""
        if channel_id not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        channel = dict(self.channels[channel_id])
        if channel_id in self.bot_permissions:
            allowed = self.bot_permissions[channel_id]
            channel["permission_overwrites"] = [
                *channel.get("permission_overwrites", []),
                {"id": APP_ID, "type": 1, "allow": str(allowed), "deny": str(ALL & ~allowed)},
            ]
        return _json(channel)

    def _paced(self, channel_id: str) -> bool:
        """Discord's limits: 5 messages per 5 seconds in a channel, 50 requests a second overall."""
        now = time.monotonic()
        window = [t for t in self._window[channel_id] if now - t < 5.0]
        self._global = [t for t in self._global if now - t < 1.0]
        if len(window) >= 5 or len(self._global) >= 50:
            self._window[channel_id] = window
            return False
        window.append(now)
        self._window[channel_id] = window
        self._global.append(now)
        return True

    def _invalid(self, what: str, problems: list[str]) -> web.Response | None:
        """Discord's answer to a body it will not take: 400, code 50035, Invalid Form Body."""
        if not problems:
            return None
        self.refused.append(f"{what}: {'; '.join(problems)}")
        return _json({"code": 50035, "message": "Invalid Form Body", "errors": {"_errors": problems}}, 400)

    def _create_message(self, channel_id: str, body: dict[str, Any]) -> web.Response:
        if refused := self._invalid("create message", limits.discord_message(body)):
            return refused
        if self.bot_permissions.get(channel_id, ALL) & SEND_NEEDS != SEND_NEEDS:
            return _json({"message": "Missing Permissions", "code": 50013}, 403)
        if self.enforce_pacing and not self._paced(channel_id):
            self.rate_limited += 1
            return _json({"message": "You are being rate limited.", "retry_after": 1.0, "global": False}, 429, via=True)
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce") and (channel_id, nonce) in self._nonces:
            return _json(self._nonces[(channel_id, nonce)])
        message = self._message(body, channel_id)
        self.messages[channel_id].append(message)
        if nonce:
            self._nonces[(channel_id, nonce)] = message
        return _json(message)

    def _edit_message(self, channel_id: str, message_id: str, body: dict[str, Any]) -> web.Response:
        if refused := self._invalid("edit message", limits.discord_message(body)):
            return refused
        for message in self.messages[channel_id]:
            if message["id"] == message_id:
                message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
                message["edited_timestamp"] = _now()
                return _json(message)
        return _json({"message": "Unknown Message", "code": 10008}, 404)

    def _callback(self, interaction_id: str, body: dict[str, Any]) -> web.Response:
        kind = body["type"]
        data = body.get("data") or {}
        checks = {4: limits.discord_message, 7: limits.discord_message, 9: limits.discord_modal}
        if kind in checks and (refused := self._invalid(f"callback type {kind}", checks[kind](data))):
            return refused
        record = {"interaction_id": interaction_id, "type": kind, "data": data}
        self.callbacks.append(record)
        response: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
            },
        }
        source = self._sources.get(interaction_id)
        if kind == 7 and source is not None:
            # UPDATE_MESSAGE edits the message whose component was used, where it stands.
            self._edit_message(*source, data)
        if kind in (4, 7):
            message = self._message(data, "interaction")
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"] = {"type": kind, "message": message}
        else:
            response["resource"] = {"type": kind}
        return _json(response)

    def _message(self, body: dict[str, Any], channel_id: str) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": channel_id,
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            "components": body.get("components") or [],
            "nonce": body.get("nonce"),
            "allowed_mentions": body.get("allowed_mentions"),
        }


def _shape(path: str) -> str:
    parts = path.strip("/").split("/")
    shaped = []
    for n, part in enumerate(parts):
        if part.isdigit():
            shaped.append("{id}")
        elif n >= 2 and parts[0] in ("interactions", "webhooks") and n == 2:
            shaped.append("{token}")
        else:
            shaped.append(part)
    return "/" + "/".join(shaped)


_UNKNOWN_GUILD = {"message": "Unknown Guild", "code": 10004}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(body: Any, status: int = 200, *, via: bool = False) -> web.Response:
    headers = {"Content-Type": "application/json"}
    if via:
        headers["Via"] = "1.1 google"
    return web.Response(body=json.dumps(body).encode(), status=status, headers=headers)
