"""One member's-eye view of a platform, the same for each: type a command, read what the bot posted
in the channel, press a button on it. `tests/test_scenarios.py` runs the same scenarios through
each of these against the real adapter (the console in process, Slack and Discord through their
SDKs against the loopback fakes, email through a real SMTP server and the bot's link pages), so a
new platform gets its acceptance tests by adding a `Side`.

Every side starts with a coalition set up by its coordinator `admin`, the channel `general` linked,
and a second member, `maria`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiosmtpd.controller import Controller

from adapters import build_dispatcher, platform
from adapters.console import ConsoleAdapter, ConsoleOptions
from bot.app import App
from bot.config import Settings
from bot.inflight import InFlight
from commands import build_registry
from commands.parser import _bind_tokens, tokenize
from commands.spec import OptionType
from storage import Database
from tests.fakes.discord import TOKEN, FakeDiscord
from tests.test_email import Inbox, body, links
from tests.test_slack import slack_env
from tests.test_slack_process import free_port


@dataclass
class Post:
    """A message as a member sees it: its words and its buttons (label to the id it carries)."""

    id: str
    text: str
    buttons: dict[str, str] = field(default_factory=dict)


class Side(Protocol):
    name: str

    async def command(self, text: str, *, as_: str = "admin") -> str:
        """Type `text` in #general; what the member is shown in answer."""
        ...

    async def posts(self, until: Callable[[list[Post]], bool] = bool) -> list[Post]:
        """The bot's messages in #general as they stand, oldest first, once `until` holds."""
        ...

    async def click(self, post: Post, label: str, *, as_: str) -> str:
        """Press the button labelled `label` on `post`; what the member is shown in answer."""
        ...


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def _posts_until(read: Callable[[], list[Post]], until: Callable[[list[Post]], bool]) -> list[Post]:
    posts = await eventually(lambda: (p := read()) and until(p) and p)
    if not posts:
        raise AssertionError(f"the channel never showed what was expected; it shows {read()}")
    return posts


# The console ------------------------------------------------------------------------------------


class ConsoleSide:
    """The console adapter in this process, reading its `--json` output as a script would."""

    name = "console"

    def __init__(self, adapter: ConsoleAdapter, out: io.StringIO) -> None:
        self.adapter = adapter
        self.out = out
        self._read = 0
        self.shown: dict[str, dict[str, Any]] = {}  # message id to its newest JSON form

    def _new(self) -> list[dict[str, Any]]:
        lines = self.out.getvalue().splitlines()[self._read :]
        self._read += len(lines)
        found = [json.loads(line) for line in lines if line.strip()]
        for message in found:
            if message["type"] == "message":
                self.shown[message["message_id"]] = message
        return found

    async def _line(self, line: str, as_: str) -> str:
        await self.adapter.handle_line(f"!as {as_}")
        self._new()
        await self.adapter.handle_line(line)
        answers = [m for m in self._new() if m["type"] == "console" or (m.get("private") and m.get("user") == as_)]
        return "\n".join(m["text"] for m in answers)

    async def command(self, text: str, *, as_: str = "admin") -> str:
        return await self._line(text, as_)

    def _channel(self) -> list[Post]:
        return [
            Post(m["message_id"], m["text"], {b["label"]: b["action_id"] for b in m["buttons"]})
            for m in self.shown.values()
            if m.get("channel") == "general" and not m["private"]
        ]

    async def posts(self, until: Callable[[list[Post]], bool] = bool) -> list[Post]:
        self._new()
        return await _posts_until(self._channel, until)

    async def click(self, post: Post, label: str, *, as_: str) -> str:
        return await self._line(f"!click {post.id} {json.dumps(label)}", as_)


@contextlib.asynccontextmanager
async def console_side(tmp_path: Path) -> AsyncIterator[ConsoleSide]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}")
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    out = io.StringIO()
    adapter = ConsoleAdapter(
        build_dispatcher(app), ConsoleOptions(json=True, interactive=False), stdin=io.StringIO(), stdout=out
    )
    app.add_messenger(adapter)
    await adapter.start()
    try:
        yield ConsoleSide(adapter, out)
    finally:
        await app.close()


# Slack ------------------------------------------------------------------------------------------

SLACK_MEMBERS = {"admin": "UADMIN", "maria": "UMARIA"}


def slack_post(message: dict[str, Any]) -> Post:
    texts: list[str] = []
    buttons: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button":
                buttons[node["text"]["text"]] = node["action_id"]
                return
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                texts.append(node["text"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks") or [])
    return Post(message.get("ts", ""), slack_seen("\n".join(texts) or message.get("text") or ""), buttons)


def slack_seen(mrkdwn: str) -> str:
    """mrkdwn as Slack shows it: emphasis drawn, not typed; entities as the characters."""
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", mrkdwn)
    text = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackSide:
    name = "slack"

    def __init__(self, env: Any) -> None:
        self.env = env

    def _answers(self, since: tuple[int, int]) -> list[str]:
        fake = self.env.fake
        return [slack_post(r).text or r.get("text", "") for r in fake.responses[since[0] :]] + [
            slack_post(e).text or e.get("text", "") for e in fake.ephemeral[since[1] :]
        ]

    async def command(self, text: str, *, as_: str = "admin") -> str:
        answer = await self.env.command(text, user=SLACK_MEMBERS[as_])
        return slack_post(answer).text if answer else ""

    async def posts(self, until: Callable[[list[Post]], bool] = bool) -> list[Post]:
        return await _posts_until(lambda: [slack_post(m) for m in self.env.fake.messages["C1"]], until)

    async def click(self, post: Post, label: str, *, as_: str) -> str:
        fake = self.env.fake
        since = (len(fake.responses), len(fake.ephemeral))
        await self.env.click(post.buttons[label], user=SLACK_MEMBERS[as_], message_ts=post.id)
        answers = await eventually(lambda: self._answers(since))
        return "\n".join(answers)


@contextlib.asynccontextmanager
async def slack_side(tmp_path: Path) -> AsyncIterator[SlackSide]:
    async with slack_env(tmp_path) as env:
        reply = await env.command('/coalition setup "Eastside Safety"')
        assert "is set up" in reply["text"], reply
        yield SlackSide(env)


# Discord ----------------------------------------------------------------------------------------

GENERAL = "4400000000000000001"


def discord_post(message: dict[str, Any]) -> Post:
    texts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        texts += [embed.get("title") or "", embed.get("description") or ""]
        texts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
        texts.append((embed.get("footer") or {}).get("text") or "")
    buttons = {
        c["label"]: c["custom_id"]
        for row in message.get("components") or []
        for c in row["components"]
        if c.get("type") == 2 and "custom_id" in c
    }
    return Post(message.get("id", ""), discord_seen("\n".join(t for t in texts if t)), buttons)


def discord_seen(markdown: str) -> str:
    """Discord's markdown as it shows: emphasis drawn, escapes gone."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", markdown)
    return re.sub(r"\\([\\*_~`|>#\-\[\]()])", r"\1", text)


class DiscordSide:
    name = "discord"

    def __init__(self, fake: FakeDiscord, inflight: InFlight) -> None:
        self.fake = fake
        self.inflight = inflight
        self.members = {
            "admin": fake.member("5500000000000000001", "Dana", manage_guild=True),
            "maria": fake.member("5500000000000000002", "Maria"),
        }
        self.registry = build_registry()

    def _options(self, text: str) -> tuple[str, str, dict[str, Any]]:
        """`/poll create "Lunch?" Pizza Tacos` as Discord sends it: a command, a subcommand, options."""
        tokens = tokenize(text)
        command, sub = tokens[0].value.lstrip("/"), tokens[1].value
        spec = self.registry.find((command, sub))
        assert spec is not None, text
        raw = _bind_tokens(spec, tokens[2:], "")
        options: dict[str, Any] = {}
        for option in spec.options:
            if option.name not in raw:
                continue
            value = raw[option.name]
            if isinstance(value, list):
                value = " ".join(json.dumps(v) for v in value)
            elif option.type == OptionType.INT:
                value = int(value)
            options[option.name] = value
        return command, sub, options

    async def _answer(self, callback: dict[str, Any], since: int) -> str:
        if callback["type"] in (5, 6):  # deferred: the answer comes as a follow-up
            await eventually(lambda: self.fake.followups[since:])
        texts = [discord_post(callback["data"]).text] if callback["type"] in (4, 7) else []
        if callback["type"] == 7:
            texts = []  # the message itself was edited; what the member is told comes as a follow-up
        # Follow-ups go out after the callback, while the bot still holds the interaction open.
        await eventually(lambda: self.inflight.open == 0)
        texts += [discord_post(m).text for m in self.fake.followups[since:]]
        return "\n".join(texts)

    async def command(self, text: str, *, as_: str = "admin") -> str:
        command, sub, options = self._options(text)
        since = len(self.fake.followups)
        callback = await self.fake.slash(command, sub, options, self.members[as_], GENERAL)
        return await self._answer(callback, since)

    async def posts(self, until: Callable[[list[Post]], bool] = bool) -> list[Post]:
        return await _posts_until(lambda: [discord_post(m) for m in self.fake.messages[GENERAL]], until)

    async def click(self, post: Post, label: str, *, as_: str) -> str:
        message = next(m for m in self.fake.messages[GENERAL] if m["id"] == post.id)
        since = len(self.fake.followups)
        callback = await self.fake.click(post.buttons[label], message, self.members[as_])
        return await self._answer(callback, since)


@contextlib.asynccontextmanager
async def discord_side(tmp_path: Path) -> AsyncIterator[DiscordSide]:
    fake = await FakeDiscord().start()
    fake.heartbeat_interval = 300
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
        environ={"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.api_url, "DISCORD_GATEWAY_URL": fake.gateway_url},
    )
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    running = await asyncio.wait_for(platform("discord").start(settings, app, build_dispatcher(app)), 20)
    await app.scheduler.start()
    side = DiscordSide(fake, app.inflight)
    try:
        assert "is set up" in await side.command('/coalition setup "Northside Residents"')
        yield side
    finally:
        await running.stop()
        await app.close()
        await fake.stop()
    assert fake.refused == [], fake.refused


# Email -------------------------------------------------------------------------------------------

EMAIL_MEMBER = "maria"
AS_IT_STANDS = "As it stands now"  # the label of an email's link to its card's live page
ANCHOR = re.compile(r'<a href="([^"]+)"[^>]*>(.*?)</a>', re.S)


def page_text(page: str) -> str:
    """A page's words as a reader (or a screen reader) takes them: tags gone, entities as characters."""
    page = re.sub(r"<(style|title)[^>]*>.*?</\1>", "", page, flags=re.S)
    page = re.sub(r"<br\s*/?>|</p>|</li>|</h1>", "\n", page)
    return html.unescape(re.sub(r"<[^>]+>", "", page)).strip()


class EmailSide:
    """`maria` is on email: she reads the mail a real SMTP server (aiosmtpd) accepted for her and
    presses its links over HTTP, each page's form posted as a browser posts it. An email cannot
    change once sent, so a card she reads is the page its "As it stands now" link opens.

    Members on email type no commands: the coordinator `admin` types in the console beside them,
    and a command the scenarios give `maria` is typed there too, as a console member of that name."""

    name = "email"

    def __init__(self, console: ConsoleSide, app: App, inbox: Inbox, http: aiohttp.ClientSession) -> None:
        self.console = console
        self.app = app
        self.inbox = inbox
        self.http = http
        self.address = f"{EMAIL_MEMBER}@example.org"

    async def command(self, text: str, *, as_: str = "admin") -> str:
        return await self.console.command(text, as_=as_)

    async def _press(self, url: str) -> str:
        """Open a link (its page changes nothing), then press the page's button: the page shown after."""
        async with self.http.get(url) as page:
            token = re.search(r'name="form" value="([^"]+)"', await page.text())
        assert token is not None, f"the page of {url} has no button"
        async with self.http.post(url, data={"form": token.group(1)}) as done:
            return page_text(await done.text())

    async def join(self) -> None:
        """Added by the coordinator; in once she confirms through her confirmation email."""
        answer = await self.command(f"/coalition email add {self.address} --name Maria")
        assert "confirmation email is on its way" in answer, answer
        confirmation = await eventually(self._delivered(lambda m: "would like to send you" in body(m, "plain")))
        assert confirmation, "no confirmation email came"
        yes = next(url for label, url in links(confirmation).items() if label.startswith("Yes"))
        assert "Thank you" in await self._press(yes)

    def _delivered(self, wanted: Callable[[EmailMessage], bool]) -> Callable[[], EmailMessage | None]:
        return lambda: next((m for m in reversed(self.inbox.to(self.address)) if wanted(m)), None)

    async def _post(self, message: EmailMessage) -> Post:
        content = body(message, "plain").replace("\r\n", "\n").partition("\n--\n")[0]  # the footer: her own links
        found = links(message)
        view = found.pop(AS_IT_STANDS, None)
        if view is None:
            buttons = {label: url for label, url in found.items() if f"{label}: {url}" in content}
            return Post(str(message["Message-ID"]), content, buttons)
        async with self.http.get(view) as page:
            assert page.status == 200, await page.text()
            shown = await page.text()
        buttons = {html.unescape(label): html.unescape(url) for url, label in ANCHOR.findall(shown)}
        return Post(str(message["Message-ID"]), page_text(shown), buttons)

    async def _read(self) -> list[Post]:
        """Her inbox's posts (not the notices to her alone), the newest email of each thread."""
        latest: dict[str, EmailMessage] = {}
        for message in self.inbox.to(self.address):
            if message["Auto-Submitted"] is None:
                latest[str(message["References"] or message["Message-ID"])] = message
        return [await self._post(m) for m in latest.values()]

    async def posts(self, until: Callable[[list[Post]], bool] = bool) -> list[Post]:
        deadline = time.monotonic() + 10
        while True:
            posts = await self._read()
            if posts and until(posts):
                return posts
            if time.monotonic() > deadline:
                raise AssertionError(f"her inbox never showed what was expected; it shows {posts}")
            await asyncio.sleep(0.05)

    async def click(self, post: Post, label: str, *, as_: str) -> str:
        assert as_ == EMAIL_MEMBER, f"only {EMAIL_MEMBER} is on email"
        return await self._press(post.buttons[label])


@contextlib.asynccontextmanager
async def email_side(tmp_path: Path) -> AsyncIterator[EmailSide]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    environ = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(controller.port),
        "SMTP_SECURITY": "none",
        "EMAIL_FROM": "Eastside Coalition <bot@example.org>",
    }
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'email.db'}",
        http_port=0,
        anonymity_secret="e" * 48,
        environ=environ,
    )
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    dispatcher = build_dispatcher(app)
    out = io.StringIO()
    console = ConsoleAdapter(dispatcher, ConsoleOptions(json=True, interactive=False), stdin=io.StringIO(), stdout=out)
    app.add_messenger(console)
    running = await platform("email").start(settings, app, dispatcher)
    await app.serve_http()
    await console.start()
    await app.scheduler.start()
    try:
        async with aiohttp.ClientSession() as http:
            side = EmailSide(ConsoleSide(console, out), app, inbox, http)
            await side.join()
            yield side
    finally:
        await running.stop()
        await app.close()
        controller.stop()


SIDES = {"console": console_side, "slack": slack_side, "discord": discord_side, "email": email_side}
