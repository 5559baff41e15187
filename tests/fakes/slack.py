"""A loopback fake of Slack: the Web API, response_urls, and Socket Mode, on a free port.

It speaks Slack's wire formats (form, JSON or query arguments; `{"ok": ...}` answers; 429 with a
Retry-After header; Socket Mode envelopes over a WebSocket), records what the bot did, and can sign
requests exactly as Slack signs them, so the real slack-bolt and slack_sdk talk to it unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from tests.fakes import limits

# The scope each Web API method needs, from Slack's method reference (docs.slack.dev/reference/methods).
# Methods that read a conversation need the scope of its kind: public (C), private (G) or a DM (D).
METHOD_SCOPES: dict[str, str | dict[str, str]] = {
    "auth.test": "",
    "apps.connections.open": "connections:write",  # the app-level token's scope
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "conversations.history": {"C": "channels:history", "G": "groups:history", "D": "im:history"},
    "conversations.info": {"C": "channels:read", "G": "groups:read", "D": "im:read"},
    "users.info": "users:read",
    "views.open": "",
    "views.publish": "",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}


def manifest_scopes(read_history: bool = False) -> list[str]:
    """What a workspace grants when the app is installed from our generated manifest."""
    from adapters.slack.manifest import manifest
    from commands import build_registry

    return list(manifest(build_registry(), read_history=read_history)["oauth_config"]["scopes"]["bot"])


SIGNING_SECRET = "8f742231b10e8888abcd99eeefff85a5"
BOT_TOKEN = "xoxb-1-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"
TEAM = "T0FAKE"


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers exactly as Slack sends them: v0 + timestamp + body, HMAC-SHA256 with the signing secret."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SlackUser:
    id: str
    name: str
    tz: str = "America/Chicago"
    is_admin: bool = False
    locale: str = "en-US"  # Slack's, e.g. "es-LA"; users.info gives it only with include_locale


@dataclass
class Limit:
    """At most `count` posts in any `seconds` (a sliding window, as Slack counts)."""

    count: int
    seconds: float
    times: list[float] = field(default_factory=list)

    def take(self) -> bool:
        now = time.monotonic()
        self.times = [t for t in self.times if now - t < self.seconds]
        if len(self.times) >= self.count:
            return False
        self.times.append(now)
        return True


class FakeSlack:
    def __init__(self, scopes: list[str] | None = None) -> None:
        # Granted as the generated manifest asks: a method whose scope it lacks fails as on Slack.
        self.scopes = set(manifest_scopes() if scopes is None else scopes)
        self.members_of: dict[str, bool] = {}  # channel -> is the bot in it (default: yes)
        self.refused: list[str] = []  # payloads Slack would have refused, and why (tests assert none)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ephemeral: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # what arrived at response_urls
        self.answers: dict[str, list[dict[str, Any]]] = {}  # the same, by the response_url's id
        self.views_opened: list[dict[str, Any]] = []
        self.views_published: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []  # completed uploads: channel, title, content
        self._uploads: dict[str, dict[str, Any]] = {}
        self.users: dict[str, SlackUser] = {}
        self.fail: dict[str, list[int]] = defaultdict(list)  # method -> statuses to answer next
        self.retry_after = 1
        self.enforce_pacing = False
        self.rate_limited = 0
        self._pacing: dict[str, Limit] = {}
        self._workspace = Limit(50, 1.0)
        self.acks: dict[str, dict[str, Any]] = {}
        self._ack_events: dict[str, asyncio.Event] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self.socket_connections = 0  # Socket Mode connections opened, reconnections included
        self._socket_ready = asyncio.Event()
        self._ts = itertools.count(1)
        # From this many posted messages on, Slack keeps each further message but holds its answer
        # until `release()`: what a process killed then has sent without learning that it arrived.
        self.hold_after: int | None = None
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Server --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{id}", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self.release()  # nothing held keeps the server from stopping
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/response/{uuid.uuid4().hex[:8]}"

    def user(self, user_id: str, name: str, *, admin: bool = False, tz: str = "America/Chicago") -> SlackUser:
        self.users[user_id] = SlackUser(user_id, name, tz, admin)
        return self.users[user_id]

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    # Web API -------------------------------------------------------------------------------

    async def _arguments(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.text()
            if request.content_type == "application/json":
                args.update(json.loads(raw or "{}"))
            else:
                args.update(dict(parse_qsl(raw)))
        for key in ("blocks", "metadata", "view"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._arguments(request)
        if request.headers.get("Authorization", "") not in (f"Bearer {BOT_TOKEN}", f"Bearer {APP_TOKEN}"):
            self.calls.append((method, {"refused": "invalid_auth"}))
            return _json({"ok": False, "error": "invalid_auth"})
        self.calls.append((method, args))
        needed = self._needed_scope(method, args, request.headers["Authorization"])
        if needed:
            return _json(
                {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(sorted(self.scopes))}
            )
        if self.fail[method]:
            status = self.fail[method].pop(0)
            if status == 429:
                self.rate_limited += 1
                return _json(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(self.retry_after)}
                )
            return _json({"ok": False, "error": "fatal_error" if status >= 500 else "channel_not_found"}, status=status)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method"}, status=404)
        return await handler(args)

    def _needed_scope(self, method: str, args: dict[str, Any], authorization: str) -> str:
        """The scope this call lacks, or "" when it may go ahead."""
        if method not in METHOD_SCOPES:
            return ""
        if (authorization == f"Bearer {APP_TOKEN}") != (method == "apps.connections.open"):
            return "a token of the other kind"  # app tokens open sockets; bot tokens do the rest
        if method == "apps.connections.open":
            return ""  # an app-level token made with connections:write, as the README says
        needed = METHOD_SCOPES[method]
        if isinstance(needed, dict):
            needed = needed.get(str(args.get("channel", "C"))[:1], needed["C"])
        return needed if needed and needed not in self.scopes else ""

    async def _auth_test(self, args: dict[str, Any]) -> web.Response:
        return _json(
            {"ok": True, "team": "Fake", "team_id": TEAM, "user": "coalition-bot", "user_id": "UBOT", "bot_id": "BBOT"},
            headers={"x-oauth-scopes": ",".join(sorted(self.scopes))},
        )

    async def _conversations_info(self, args: dict[str, Any]) -> web.Response:
        channel = str(args["channel"])
        return _json(
            {
                "ok": True,
                "channel": {
                    "id": channel,
                    "name": "general",
                    "is_private": channel.startswith("G"),
                    "is_member": self.members_of.get(channel, True),
                },
            }
        )

    def _invalid(self, method: str, problems: list[str]) -> web.Response | None:
        if not problems:
            return None
        self.refused.append(f"{method}: {'; '.join(problems)}")
        return _json({"ok": False, "error": "invalid_blocks", "errors": problems})

    async def _chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        if refused := self._invalid("chat.postMessage", limits.slack_message(args)):
            return refused
        channel = args["channel"]
        if not self.members_of.get(channel, True) and not channel.startswith("D"):
            return _json({"ok": False, "error": "not_in_channel"})
        if self.enforce_pacing:
            # About one message a second per channel with a burst of 3; 50 a second per workspace.
            bucket = self._pacing.setdefault(channel, Limit(3, 3.0))
            if not bucket.take() or not self._workspace.take():
                self.rate_limited += 1
                return _json({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        ts = f"{1700000000 + next(self._ts)}.000100"
        message = {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks"), "metadata": args.get("metadata")}
        self.messages[channel].append(message)
        if self.hold_after is not None and sum(map(len, self.messages.values())) > self.hold_after:
            await self._released.wait()
        return _json({"ok": True, "channel": channel, "ts": ts, "message": message})

    def release(self) -> None:
        """Answer what was held, and hold nothing more."""
        self.hold_after = None
        self._released.set()

    async def _chat_update(self, args: dict[str, Any]) -> web.Response:
        if refused := self._invalid("chat.update", limits.slack_message(args)):
            return refused
        for message in self.messages[args["channel"]]:
            if message["ts"] == args["ts"]:
                message.update(text=args.get("text"), blocks=args.get("blocks"), edited=True)
                return _json({"ok": True, "channel": args["channel"], "ts": args["ts"]})
        return _json({"ok": False, "error": "message_not_found"})

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        if refused := self._invalid("chat.postEphemeral", limits.slack_message(args)):
            return refused
        self.ephemeral.append(args)
        return _json({"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"})

    async def _conversations_open(self, args: dict[str, Any]) -> web.Response:
        return _json({"ok": True, "channel": {"id": "D" + str(args.get("users", "")).lstrip("U")}})

    async def _conversations_history(self, args: dict[str, Any]) -> web.Response:
        messages = list(reversed(self.messages[args["channel"]]))[: int(args.get("limit", 100))]
        return _json({"ok": True, "messages": messages, "has_more": False})

    async def _users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(args["user"]) or SlackUser(args["user"], args["user"])
        return _json(
            {
                "ok": True,
                "user": {
                    "id": user.id,
                    "team_id": TEAM,
                    "name": user.name.lower(),
                    "real_name": user.name,
                    "tz": user.tz,
                    "is_admin": user.is_admin,
                    "is_owner": False,
                    "profile": {"display_name": user.name},
                    **({"locale": user.locale} if str(args.get("include_locale")).lower() in ("true", "1") else {}),
                },
            }
        )

    async def _views_open(self, args: dict[str, Any]) -> web.Response:
        if refused := self._invalid("views.open", limits.slack_view(args.get("view") or {})):
            return refused
        self.views_opened.append(args)
        return _json({"ok": True, "view": {"id": "V1", **(args.get("view") or {})}})

    async def _views_publish(self, args: dict[str, Any]) -> web.Response:
        if refused := self._invalid("views.publish", limits.slack_view(args.get("view") or {})):
            return refused
        self.views_published.append(args)
        return _json({"ok": True, "view": {"id": "VHOME"}})

    async def _files_getUploadURLExternal(self, args: dict[str, Any]) -> web.Response:
        file_id = f"F{next(self._ts)}"
        self._uploads[file_id] = {"filename": args.get("filename"), "alt_txt": args.get("alt_txt"), "content": b""}
        return _json({"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id})

    async def _upload(self, request: web.Request) -> web.Response:
        self._uploads[request.match_info["id"]]["content"] = await request.read()
        return web.Response(text="OK")

    async def _files_completeUploadExternal(self, args: dict[str, Any]) -> web.Response:
        files = args["files"] if isinstance(args["files"], list) else json.loads(args["files"])
        for f in files:
            upload = self._uploads.pop(f["id"])
            self.files.append({"channel": args.get("channel_id"), "title": f.get("title"), **upload})
        return _json({"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]})

    async def _apps_connections_open(self, args: dict[str, Any]) -> web.Response:
        return _json({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        problems = limits.slack_message(body) if "blocks" in body or "text" in body else []
        if problems:
            self.refused.append(f"response_url: {'; '.join(problems)}")
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(body)
        self.answers.setdefault(request.match_info["id"], []).append(body)
        return web.Response(text="ok")

    # Socket Mode ---------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections += 1
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "AFAKE"}})
        self._socket_ready.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                envelope = data.get("envelope_id")
                if envelope:
                    self.acks[envelope] = data.get("payload") or {}
                    if self.acks[envelope] and (problems := limits.slack_message(self.acks[envelope])):
                        self.refused.append(f"socket ack: {'; '.join(problems)}")
                    self._ack_events.setdefault(envelope, asyncio.Event()).set()
        return ws

    async def drop_socket(self) -> None:
        """Close the app's Socket Mode connection from Slack's side, as Slack does to refresh it."""
        await asyncio.wait_for(self._socket_ready.wait(), 10)
        self._socket_ready.clear()
        await self._sockets[-1].close()

    async def push(self, kind: str, payload: dict[str, Any], *, within: float = 10) -> dict[str, Any]:
        """Send an envelope over Socket Mode and return the payload the app acked it with."""
        await asyncio.wait_for(self._socket_ready.wait(), within)
        envelope = uuid.uuid4().hex
        event = self._ack_events.setdefault(envelope, asyncio.Event())
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
            }
        )
        await asyncio.wait_for(event.wait(), within)
        return self.acks[envelope]

    # Requests as Slack would send them to an app --------------------------------------------

    def slash_command(
        self, command: str, text: str, *, user: str, channel: str = "C1", channel_name: str = "general"
    ) -> dict[str, str]:
        return {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": self.users[user].name.lower() if user in self.users else user,
            "command": command,
            "text": text,
            "api_app_id": "AFAKE",
            "response_url": self.response_url(),
            "trigger_id": f"{next(self._ts)}.trigger",
        }

    def block_actions(
        self,
        action_id: str,
        *,
        user: str,
        channel: str = "C1",
        message_ts: str | None = "1700000001.000100",
        ephemeral: bool = False,
        value: str | None = None,
    ) -> dict[str, Any]:
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "b1",
            "type": "button",
            "action_ts": str(time.time()),
        }
        if value is not None:
            action = {**action, "type": "static_select", "selected_option": {"value": value}}
        container: dict[str, Any] = {"type": "message", "channel_id": channel, "is_ephemeral": ephemeral}
        if message_ts:
            container["message_ts"] = message_ts
        return {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "AFAKE",
            "container": container,
            "channel": {"id": channel, "name": "general"},
            "message": {"ts": message_ts, "text": "..."} if message_ts and not ephemeral else None,
            "response_url": self.response_url(),
            "trigger_id": f"{next(self._ts)}.trigger",
            "actions": [action],
        }

    def view_submission(self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str) -> dict[str, Any]:
        typed = limits.slack_typed(view, values)
        if typed:
            raise AssertionError(f"Slack would not let a member type this: {typed}")
        return {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "AFAKE",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view.get("private_metadata", ""),
                "state": {"values": values},
            },
        }

    def home_opened(self, user: str) -> dict[str, Any]:
        return {
            "token": "legacy",
            "team_id": TEAM,
            "api_app_id": "AFAKE",
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:8],
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
        }


def form(body: dict[str, Any]) -> str:
    """A slash command's body, or an interaction's (`payload=<json>`), as Slack encodes it."""
    if "type" in body and body.get("type") in ("block_actions", "view_submission"):
        return urlencode({"payload": json.dumps(body)})
    return urlencode(body)


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json", headers=headers)
