"""The Slack adapter: slack-bolt listeners that hand every event to the dispatcher.

Slack wants an answer within 3 seconds. A command's reply is usually ready sooner, and is then
sent as the ack itself (one message, no flicker); when it is not, the command is acked empty and
the reply follows through the response_url. Clicks are acked at once and answered the same way.
Socket Mode (SLACK_APP_TOKEN) needs no public URL; HTTP mode serves /slack/events and verifies
Slack's request signatures (slack-bolt answers 401 to a bad signature or a stale timestamp).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError

from adapters.slack import render
from adapters.slack.messenger import SlackMessenger
from adapters.slack.modals import modal_for, values_from
from adapters.slack.platform import SlackPlatform, web_client
from adapters.slack.settings import slack_settings
from bot.app import App
from bot.config import ConfigError, Settings
from bot.i18n import speaking
from bot.inflight import restarting
from bot.refs import Actor, ConversationRef, MessageRef, UserRef
from bot.replies import Reply, form_target
from commands.dispatcher import Dispatcher

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT = aiohttp.ClientTimeout(total=30)
ACK_BUDGET = 2.0  # seconds we wait for a reply before acking empty (Slack allows 3)
PROFILE_TTL = 600.0
HOME = "app-home"
SEEN_CLICKS = 20_000
TOKEN_RECHECK = 60.0  # seconds between checks of the token for the health probe, in HTTP mode


class SlackAdapter:
    platform = SlackPlatform.name

    def __init__(self, settings: Settings, app: App, dispatcher: Dispatcher) -> None:
        self.own = slack_settings(settings)
        assert self.own.bot_token
        self.settings = settings
        self.app = app
        self.dispatcher = dispatcher
        self.client = web_client(settings)
        bolt_log = logging.getLogger("slack_bolt")
        bolt_log.addFilter(_quiet_token_notice)
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=self.own.signing_secret or "",
            request_verification_enabled=not self.own.app_token,
            logger=bolt_log,
        )
        self.messenger = SlackMessenger(self.client, read_history=self.own.read_history)
        self._profiles: dict[str, tuple[float, Actor]] = {}
        self.ack_budget = ACK_BUDGET  # past it, a command is acked empty and answered on its response_url
        self._socket: AsyncSocketModeHandler | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port: int | None = None
        self._seen: dict[str, None] = {}  # recent clicks' trigger_ids, oldest first
        self.bot_user_id = ""
        self.bot_name = "coalition-bot"
        self._token_state: str | None = None  # what Slack said of the token when last asked
        self._token_checked = time.monotonic()  # start-up checks it (check_tokens)
        self._token_check: asyncio.Task[None] | None = None
        self._register()

    # Wiring --------------------------------------------------------------------------------

    def _register(self) -> None:
        # Clicks first: bolt tries listeners in order, and clicks come in bursts (votes).
        self.bolt.action(re.compile(".+"))(self._held(self._on_action, "slack click"))
        on_command = self._held(self._on_command, "slack command")
        for spec in self.dispatcher.registry.commands():
            self.bolt.command(f"/{spec.name}")(on_command)
        self.bolt.view(re.compile("^modal:"))(self._held(self._on_view, "slack form"))
        self.bolt.event("app_home_opened")(self._held(self._on_home_opened, "slack home"))

    def _held(self, listener: Any, what: str) -> Any:
        """The listener, holding the bot open from before its ack until its answer is sent (a stop
        drains it; see bot.inflight). Once the bot is stopping, new work is acked with "restarting"
        and not carried out: Slack is never told "received" for something the bot will drop."""

        async def held(ack: Any, body: dict[str, Any], event: dict[str, Any] | None = None) -> None:
            hold = self.app.inflight.admit(what)
            if hold is None:
                await self._refuse(ack, body)
                return
            with hold:
                if event is not None:
                    await listener(body=body, event=event)
                else:
                    await listener(ack=ack, body=body)

        return held

    async def start(self) -> None:
        # One connection pool for the Web API and response_urls, instead of a connection per call.
        self._http = aiohttp.ClientSession()
        self.client.session = self._http
        try:
            await self.check_tokens()
        except BaseException:
            await self._http.close()
            raise
        self.app.add_messenger(self.messenger, SlackPlatform.pacing)
        self.app.health_checks[SlackPlatform.name] = self._health
        self.app.platform_checks[SlackPlatform.name] = functools.partial(SlackPlatform().doctor, self.settings)
        if self.own.app_token:
            self._socket = AsyncSocketModeHandler(self.bolt, self.own.app_token, web_client=self.client)
            self._count_reconnects(self._socket.client)
            await self._socket.connect_async()
            log.info("Slack adapter connected in Socket Mode")
            return
        # HTTP mode: Slack's events on the bot's one HTTP server, beside the calendar feeds.
        self.app.web.add("POST", "/slack/events", self._on_http)
        self.port = await self.app.serve_http()
        log.info("Slack adapter listening on http://%s:%s/slack/events", self.settings.web_host, self.port)

    def _count_reconnects(self, client: Any) -> None:
        """Every Socket Mode connection after the first is a reconnection (Slack refreshes them every
        few hours, and after any drop): counted for whoever watches the bot. slack_sdk reconnects by
        calling its client's `connect` again, so that is where they are counted."""
        connect = client.connect
        connections = 0

        async def counted() -> None:
            nonlocal connections
            await connect()
            connections += 1
            if connections > 1:
                self.app.metrics.reconnects.labels(SlackPlatform.name).inc()

        client.connect = counted

    async def _health(self) -> str | None:
        """Socket Mode: the connection is up. HTTP mode has no connection to look at: what Slack said
        to the last token check, made at most once a minute in the background (a probe every few
        seconds must not become a call to Slack every few seconds)."""
        if self._socket is not None:
            return None if await self._socket.client.is_connected() else "Socket Mode is not connected"
        stale = time.monotonic() - self._token_checked > TOKEN_RECHECK
        if stale and (self._token_check is None or self._token_check.done()):
            self._token_check = asyncio.ensure_future(self._check_token())
        return self._token_state

    async def _check_token(self) -> None:
        try:
            await self.client.auth_test()
            self._token_state = None
        except SlackApiError as exc:
            self._token_state = f"Slack refuses the token ({exc.response.get('error')})"
        except (aiohttp.ClientError, TimeoutError):
            self._token_state = "Slack does not answer"
        self._token_checked = time.monotonic()

    async def _on_http(self, request: web.Request) -> web.Response:
        """A signed request from Slack, through bolt as its own aiohttp server would pass it."""
        response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def check_tokens(self) -> None:
        """Stop at once, with the variable and the fix, when Slack refuses a token: a bad token
        would otherwise retry forever (Socket Mode) or look like a running bot that answers nothing."""
        try:
            auth = await self.client.auth_test()
            self.bot_user_id = str(auth.get("user_id") or "")
            self.bot_name = self.messenger.bot_name = str(auth.get("user") or self.bot_name)
        except SlackApiError as exc:
            raise ConfigError(
                f"SLACK_BOT_TOKEN: Slack refused this token ({exc.response.get('error')}). Copy the Bot User OAuth "
                "Token (xoxb-...) again from your app's OAuth & Permissions page, after installing the app"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ConfigError(
                f"cannot reach Slack ({type(exc).__name__}): check the network connection, "
                "or SLACK_API_URL if you set it"
            ) from exc
        if not self.own.app_token:
            return
        try:
            await self.client.apps_connections_open(app_token=self.own.app_token)
        except SlackApiError as exc:
            raise ConfigError(
                f"SLACK_APP_TOKEN: Slack refused this token ({exc.response.get('error')}). Make an app-level token "
                "with the connections:write scope (Basic Information > App-Level Tokens) and copy it (xapp-...)"
            ) from exc

    async def stop(self) -> None:
        if self._token_check is not None:
            self._token_check.cancel()
        if self._socket is not None:
            await self._socket.close_async()
        if self._http is not None:
            self.client.session = None
            await self._http.close()

    # Who and where ---------------------------------------------------------------------------

    async def actor(self, user_id: str, team_id: str, fallback_name: str = "") -> Actor:
        """The member with what Slack's profile says: name, admin status, time zone (cached)."""
        cached = self._cached(user_id)
        if cached is not None:
            return cached
        name, admin, tz, locale = fallback_name or user_id, False, None, None
        try:
            info = (await self.client.users_info(user=user_id, include_locale=True)).get("user") or {}
            profile = info.get("profile") or {}
            name = profile.get("display_name") or info.get("real_name") or info.get("name") or name
            admin = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
            tz = info.get("tz")
            locale = info.get("locale")
        except Exception:
            log.warning("users.info failed for %s; using what the event says", user_id)
        actor = Actor(UserRef(self.platform, team_id, user_id), name[:80], admin, tz, locale=locale)
        self._profiles[user_id] = (time.monotonic(), actor)
        return actor

    def _cached(self, user_id: str) -> Actor | None:
        cached = self._profiles.get(user_id)
        return cached[1] if cached and time.monotonic() - cached[0] < PROFILE_TTL else None

    def _clicker(self, user: dict[str, Any], team: str) -> Actor:
        """Who clicked: the cached profile, or else what the click itself says. A vote needs no
        profile lookup, and in a burst of votes from new members those lookups would cost more
        than the votes; the profile is fetched at the member's first command instead."""
        cached = self._cached(user["id"])
        if cached is not None:
            return cached
        name = user.get("name") or user.get("username") or user["id"]
        return Actor(UserRef(self.platform, team, user["id"]), name[:80], profile_known=False)

    @staticmethod
    def _team(body: dict[str, Any]) -> str:
        return body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")

    # Commands ------------------------------------------------------------------------------

    async def _on_command(self, ack: Any, body: dict[str, Any]) -> None:
        team = self._team(body)
        where = ConversationRef(self.platform, team, body["channel_id"], name=body.get("channel_name", ""))
        text = f"{body['command']} {body.get('text', '')}".strip()
        spec_path = self._modal_path(text)
        if spec_path is not None and body.get("trigger_id"):
            # A form instead of typing: opened right away, inside the trigger's 3 seconds, in the
            # member's language (their profile's locale only when already at hand).
            reader = self._cached(body["user_id"]) or Actor(
                UserRef(self.platform, team, body["user_id"]), body.get("user_name", ""), profile_known=False
            )
            with speaking(await self.dispatcher.reader_language(reader, where)):
                view = modal_for(self.dispatcher.registry, spec_path, where)
            await self.client.views_open(trigger_id=body["trigger_id"], view=view)
            await ack()
            return

        async def run() -> Reply:
            actor = await self.actor(body["user_id"], team, body.get("user_name", ""))
            checked = await self._with_access(where, text)
            return await self.dispatcher.run_text(text, actor, checked, once=_request_key(body))

        task = asyncio.create_task(run())
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self.ack_budget)
        except TimeoutError:
            await ack()
            reply = await task
            await self._respond(body, **self._response(reply))
        else:
            await ack(**self._response(reply))
        await self._send_files(reply, body["user_id"], where)

    async def _refuse(self, ack: Any, body: dict[str, Any]) -> None:
        """Stopping: tell the member nothing was done, where Slack shows it for this kind of event."""
        reply = restarting()
        kind = body.get("type")
        if kind == "view_submission":
            spec = self.dispatcher.registry.find(tuple(body["view"]["callback_id"].removeprefix("modal:").split(".")))
            field = spec.options[0].name if spec is not None and spec.options else "value"
            await ack(response_action="errors", errors={field: render.plain(reply.text)[:150]})
        elif kind == "block_actions":  # Slack ignores an ack's body here: answered on the response_url
            await ack()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await self._respond(body, replace_original=False, **self._response(reply))
        elif kind == "event_callback":
            await ack()
        else:
            await ack(**self._response(reply))

    async def _with_access(self, where: ConversationRef, text: str) -> ConversationRef:
        """For commands that link this channel: can the bot post here? Slack lets anyone use a slash
        command in a channel the bot was never invited to, where every later post would fail."""
        words = text.lstrip("/").lower().split()
        spec = self.dispatcher.registry.find(tuple(words[:2])) if len(words) >= 2 else None
        if spec is None or not spec.checks_access or where.channel_id.startswith("D"):
            return where
        try:
            info = (await self.client.conversations_info(channel=where.channel_id)).get("channel") or {}
            member = bool(info.get("is_member"))
        except SlackApiError as exc:
            # A private channel the bot is not in is "not found" to it.
            member = exc.response.get("error") != "channel_not_found"
        return where if member else replace(where, access_problem=self.not_in_channel())

    def not_in_channel(self) -> str:
        return f"I'm not in this channel yet: invite me with `/invite @{self.bot_name}`"

    def _first_time(self, body: dict[str, Any]) -> bool:
        """Clicks come in bursts (votes) and are idempotent in the database; a replayed signed click
        is dropped here, by its trigger_id, without a write per click."""
        key = _request_key(body)
        if key is None:
            return True
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_CLICKS:
            self._seen.pop(next(iter(self._seen)))
        return True

    def _modal_path(self, text: str) -> tuple[str, ...] | None:
        """The command's path when it was typed bare and has a form, e.g. `/broadcast send`."""
        words = text.lstrip("/").split()
        if len(words) != 2:
            return None
        spec = self.dispatcher.registry.find((words[0].lower(), words[1].lower()))
        return (words[0].lower(), words[1].lower()) if spec is not None and spec.modal else None

    async def _respond(self, body: dict[str, Any], **message: Any) -> None:
        """Answer through the event's response_url, on the adapter's pooled HTTP session (bolt's
        own `respond` opens a new connection every time, which a burst of votes pays for dearly)."""
        url = body.get("response_url")
        if not url:
            log.warning("no response_url to answer %s on", body.get("type", "an event"))
            return
        assert self._http is not None
        async with self._http.post(url, json=message, timeout=RESPONSE_TIMEOUT) as response:
            if response.status != 200:
                log.warning("response_url answered HTTP %s: %s", response.status, (await response.text())[:200])

    @staticmethod
    def _response(reply: Reply) -> dict[str, Any]:
        return {"response_type": "ephemeral" if reply.private else "in_channel", **render.message(reply)}

    # Clicks --------------------------------------------------------------------------------

    async def _on_action(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        target = form_target(render.action_id_of(body["actions"][0]["action_id"]))
        if target is not None and body.get("trigger_id"):
            await self._open_form(body, *target)
            return
        if not self._first_time(body):
            log.warning("a replayed click, not carried out again")
            return
        team = self._team(body)
        action = body["actions"][0]
        action_id = render.action_id_of(action["action_id"])
        value = render.action_value(action)
        channel = body.get("channel") or {}
        container = body.get("container") or {}
        where = ConversationRef(self.platform, team, channel.get("id") or HOME, name=channel.get("name", ""))
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        actor = self._clicker(body["user"], team)
        reply = await self.dispatcher.run_action(
            action_id, actor, where, value=value, message=MessageRef(where, ts) if ts else None
        )
        if container.get("type") == "view":
            # The answer is shown at the top of the App Home itself, never posted as a message: a direct
            # message would stay in Slack for good ("Recorded in poll #1: Yes"), an anonymous vote too.
            await self.publish_home(actor, notice=reply)
            await self._send_files(reply, actor.user.user_id, where)
            return
        if reply.replace_original and not reply.error:
            if container.get("is_ephemeral") or not ts:
                await self._respond(body, replace_original=True, **render.message(reply))
            else:
                await self.client.chat_update(channel=where.channel_id, ts=ts, **render.message(reply))
            return
        await self._respond(body, replace_original=False, **self._response(reply))
        await self._send_files(reply, actor.user.user_id, where)

    async def _send_files(self, reply: Reply, user_id: str, where: ConversationRef) -> None:
        """Exports and charts: into the channel for a public reply, else into the member's DM."""
        if not reply.attachments:
            return
        channel = where.channel_id
        if reply.private or channel == HOME:
            channel = (await self.client.conversations_open(users=user_id))["channel"]["id"]
        for attachment in reply.attachments:
            try:
                await self.client.files_upload_v2(
                    channel=channel,
                    file=attachment.content,
                    filename=attachment.filename,
                    title=attachment.filename,
                    alt_txt=attachment.description[:1000] or None,
                )
            except SlackApiError as exc:
                error = str(exc.response.get("error", ""))
                log.warning("uploading %s failed: %s", attachment.filename, error)
                await self.client.chat_postEphemeral(
                    channel=where.channel_id if where.channel_id != HOME else channel,
                    user=user_id,
                    text=upload_failed(attachment.filename, error, str(exc.response.get("needed", ""))),
                )
                return

    # Forms ---------------------------------------------------------------------------------

    async def _open_form(self, body: dict[str, Any], path: tuple[str, ...], first: str) -> None:
        """A form button: the command's form, its first field filled in, in the member's language."""
        spec = self.dispatcher.registry.find(path)
        if spec is None or not spec.options:
            return
        team = self._team(body)
        channel = body.get("channel") or {}
        where = ConversationRef(self.platform, team, channel.get("id") or HOME, name=channel.get("name", ""))
        with speaking(await self.dispatcher.reader_language(self._clicker(body["user"], team), where)):
            view = modal_for(self.dispatcher.registry, path, where, {spec.options[0].name: first})
        await self.client.views_open(trigger_id=body["trigger_id"], view=view)

    async def _on_view(self, ack: Any, body: dict[str, Any]) -> None:
        view = body["view"]
        path = tuple(view["callback_id"].removeprefix("modal:").split("."))
        meta = json.loads(view.get("private_metadata") or "{}")
        team = self._team(body)
        where = ConversationRef(self.platform, team, meta.get("channel", HOME), name=meta.get("name", ""))
        spec = self.dispatcher.registry.find(path)
        if spec is None:
            await ack()
            return
        raw = values_from(spec, view.get("state", {}).get("values", {}))
        actor = await self.actor(body["user"]["id"], team, body["user"].get("username", ""))
        reply = await self.dispatcher.run_command(path, raw, actor, where, once=_request_key(body))
        if reply.error:
            # Under the field: the first line, without the typed command's usage line.
            first = render.plain(reply.text).removeprefix("⚠️ ").splitlines()[0]
            await ack(response_action="errors", errors={_field_for(spec, reply): first[:150]})
            return
        await ack()
        await self._send_files(reply, actor.user.user_id, where)
        rendered = render.message(reply)
        if reply.private:
            await self.client.chat_postEphemeral(channel=where.channel_id, user=actor.user.user_id, **rendered)
        else:
            await self.client.chat_postMessage(channel=where.channel_id, unfurl_links=False, **rendered)

    # App Home ------------------------------------------------------------------------------

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        actor = await self.actor(event["user"], self._team(body))
        await self.publish_home(actor)

    async def publish_home(self, actor: Actor, notice: Reply | None = None) -> None:
        """The member's App Home; `notice`, the answer to something they clicked there, on top."""
        where = ConversationRef(self.platform, actor.user.workspace_id, HOME)
        reply = await self.dispatcher.run_home(actor, where)
        blocks = render.blocks(reply) if reply.blocks else render.message(reply)["blocks"]
        if notice is not None:
            top = render.blocks(notice) if notice.blocks else render.message(notice)["blocks"]
            blocks = [*top, {"type": "divider"}, *blocks]
        await self.client.views_publish(user_id=actor.user.user_id, view={"type": "home", "blocks": blocks[:100]})


def _request_key(body: dict[str, Any]) -> str | None:
    """Slack's id for one user action (a command, a click, a form): the same in a replay."""
    trigger = body.get("trigger_id")
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    return f"slack:{team}:{trigger}" if trigger else None


def _quiet_token_notice(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (which carries it) wins: true, and
    nothing an operator should be asked to act on at every start."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def upload_failed(filename: str, error: str, needed: str) -> str:
    """What a member is told when Slack refuses a file, with what fixes it."""
    if error == "missing_scope":
        return (
            f"⚠️ I could not attach {filename}: this Slack app lacks the `{needed or 'files:write'}` permission. "
            "A workspace admin can fix it by updating the app from the manifest (`coalition-bot slack manifest`) "
            "and reinstalling it."
        )
    if error == "not_in_channel":
        return f"⚠️ I could not attach {filename} here: invite me to this channel first (`/invite @coalition-bot`)."
    return f"⚠️ I could not attach {filename} (Slack said: {error or 'no answer'}). Please try again later."


def _field_for(spec: Any, reply: Reply) -> str:
    """The form field an error is about: its message starts with the option's name."""
    text = render.plain(reply.text).removeprefix("⚠️ ")
    for option in spec.options:
        if text.startswith(option.metavar):
            return option.name
    return spec.options[0].name if spec.options else "value"
