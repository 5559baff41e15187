"""A REPL that plays one member in one channel of a local coalition.

It is also a Messenger, so whatever the bot sends on its own (reminders, broadcasts) appears in
the same stream as command replies. When standard input is not a terminal it runs the lines it
reads and exits at the end, which is how the README's examples and the tests script it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any, TextIO

from adapters.console.platform import ConsolePlatform
from adapters.console.render import Clickable, ConsoleMessage, as_json, as_text, clickables
from bot.clock import SimulatedClock
from bot.markup import format_time
from bot.refs import Actor, ConversationRef, MessageRef, UserRef
from bot.replies import Attachment, Reply
from bot.times import TimeProblem, format_duration, parse_duration
from commands.dispatcher import Dispatcher
from commands.errors import UsageError
from commands.parser import tokenize

WORKSPACE = "local"
_NAME = re.compile(r"#?([A-Za-z0-9_.\-]{1,32})")

CONSOLE_HELP = """Console commands:
  /COMMAND ...          run a bot command as the current member, e.g. /coalition help
  !click N | "Label"    press button N (or the one labelled so) on the latest message with buttons
  !click N,M,...        choose several options of one menu at once (multiple-choice polls)
  !click mID N|"Label"  press a button on an earlier message, named by its id (m12)
  !as NAME              act as another member (a new name joins as a plain member)
  !channel NAME         move to another channel (only linked channels take most commands)
  !advance DURATION     move the simulated clock forward, running what falls due (e.g. !advance 25h)
  !now                  show the bot's current time
  !help                 this list
  !quit                 leave (end of input does the same)"""


@dataclass
class ConsoleOptions:
    json: bool = False
    user: str = "admin"
    channel: str = "general"
    coalition_name: str = "Our coalition"
    interactive: bool | None = None  # None: when standard input is a terminal


class ConsoleAdapter:
    platform = ConsolePlatform.name

    def __init__(
        self,
        dispatcher: Dispatcher,
        options: ConsoleOptions,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.options = options
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty() if options.interactive is None else options.interactive
        self.user = options.user
        self.channel = options.channel
        self.messages: list[ConsoleMessage] = []
        self._ids = count(1)

    # Identity --------------------------------------------------------------------------------

    def actor(self, name: str | None = None) -> Actor:
        name = name or self.user
        return Actor(UserRef(self.platform, WORKSPACE, name.lower()), display_name=name)

    def where(self, channel: str | None = None) -> ConversationRef:
        channel = channel or self.channel
        return ConversationRef(self.platform, WORKSPACE, channel.lower(), name=channel.lower())

    # Messenger -------------------------------------------------------------------------------

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str) -> MessageRef:
        return await self._post(conversation, reply, key)

    async def _post(self, conversation: ConversationRef, reply: Reply, key: str | None) -> MessageRef:
        """A message in a channel: a delivery from the outbox (`key`), or an answer to a command."""
        message = ConsoleMessage(f"m{next(self._ids)}", reply, conversation.channel_id, None, clickables(reply), key)
        self.messages.append(message)
        await self._show(message, edit=False)
        return MessageRef(conversation, message.message_id)

    async def send_private(self, user: UserRef, reply: Reply, *, key: str) -> MessageRef:
        message = ConsoleMessage(f"m{next(self._ids)}", reply, None, user.user_id, clickables(reply), key)
        self.messages.append(message)
        await self._show(message, edit=False)
        return MessageRef(ConversationRef(self.platform, WORKSPACE, f"dm:{user.user_id}"), message.message_id)

    async def find_sent(
        self, conversation: ConversationRef | UserRef, key: str, *, reply: Reply, since: datetime
    ) -> MessageRef | None:
        for message in self.messages:
            if message.key == key:
                where = conversation if isinstance(conversation, ConversationRef) else self.where()
                return MessageRef(where, message.message_id)
        return None

    async def update(self, message: MessageRef, reply: Reply) -> None:
        for existing in self.messages:
            if existing.message_id == message.message_id:
                existing.reply = reply
                existing.clickables = clickables(reply)
                await self._show(existing, edit=True)
                return

    async def _reply(self, reply: Reply, clicked: ConsoleMessage | None = None) -> None:
        """Post a command's or click's answer where the member would see it."""
        if clicked is not None and reply.replace_original and not reply.error:
            conversation = self.where(clicked.channel) if clicked.channel else self.where()
            await self.update(MessageRef(conversation, clicked.message_id), reply)
            return
        if reply.private:
            message = ConsoleMessage(f"m{next(self._ids)}", reply, self.channel, self.user.lower(), clickables(reply))
            self.messages.append(message)
            await self._show(message, edit=False)
        else:
            await self._post(self.where(), reply, None)

    async def _show(self, message: ConsoleMessage, edit: bool) -> None:
        if message.reply.attachments and not message.files:
            message.files = [await self._save(message.message_id, a) for a in message.reply.attachments]
        viewer = self.actor(message.user) if message.user else self.actor()
        zone = await self.dispatcher.viewer_zone(
            viewer, self.where(message.channel) if message.channel else self.where()
        )
        now = self.dispatcher.app.clock.now()
        if self.options.json:
            self._print(json.dumps(as_json(message, zone, now, edit), ensure_ascii=False))
        else:
            self._print(as_text(message, zone, now, edit) + "\n")

    @staticmethod
    async def _save(message_id: str, attachment: Attachment) -> str:
        """Files the bot sends (exports, charts) land in ./exports; the message shows the path."""
        folder = Path("exports")
        path = folder / f"{message_id}-{Path(attachment.filename).name}"

        def write() -> None:
            # Exports may hold names and answers: readable by their owner only.
            folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(attachment.content)

        await asyncio.to_thread(write)
        return str(path)

    def _say(self, text: str, *, problem: bool = False) -> None:
        """A note from the console itself, not from the bot."""
        if self.options.json:
            self._print(json.dumps({"type": "console", "text": text, "error": problem}, ensure_ascii=False))
        else:
            self._print(("! " if problem else "") + text)

    def _print(self, line: str) -> None:
        self.stdout.write(line + "\n")
        self.stdout.flush()

    # The loop ------------------------------------------------------------------------------

    async def start(self) -> None:
        founder = self.actor()
        created = await self.dispatcher.ensure_coalition(self.options.coalition_name, self.where(), founder)
        if created:
            self._say(
                f"Started '{self.options.coalition_name}' with #{self.channel} linked and "
                f"{self.user} as its coordinator."
            )
        if self.interactive:
            self._say(f"You are {self.user} in #{self.channel}. Type /coalition help or !help.")

    async def run(self) -> int:
        """Read and run lines until the input ends, `!quit`, or SIGTERM/SIGINT: a signal lets the
        line being run finish and its messages go out, then the session ends (exit 0)."""
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                loop.add_signal_handler(signum, stop.set)
                handled.append(signum)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                prompt = f"{self.user}@#{self.channel}> " if self.interactive else ""
                reading = self._read_in_background(prompt)
                either: set[asyncio.Future[Any]] = {reading, stopping}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    break  # a signal while waiting for a line: nothing is in progress
                line = reading.result()
                if line is None or not await self.handle_line(line):
                    break
            await self._deliver_now()  # what the last line queued is shown before the session ends
        finally:
            stopping.cancel()
            for signum in handled:
                loop.remove_signal_handler(signum)
        return 0

    def _read_in_background(self, prompt: str) -> asyncio.Future[str | None]:
        """The next line, read on a daemon thread: a stop does not wait for a line nobody types
        (a thread of asyncio's own pool would hold the exit until input arrived)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()

        def deliver(line: str | None) -> None:
            if not future.done():
                future.set_result(line)

        def read() -> None:
            try:
                line = self._read_line(prompt)
            except (EOFError, KeyboardInterrupt, OSError, ValueError):
                line = None
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(deliver, line)

        threading.Thread(target=read, name="console-input", daemon=True).start()
        return future

    def _read_line(self, prompt: str) -> str | None:
        if self.interactive:
            return input(prompt)
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    async def handle_line(self, line: str) -> bool:
        """Run one line; False means the member asked to leave."""
        line = line.strip()
        if not line or line.startswith("#!") or line.startswith("# "):
            return True
        if not self.interactive and not self.options.json:
            self._print(f"{self.user}@#{self.channel}> {line}")
        if line.startswith("/"):
            reply = await self.dispatcher.run_text(line, self.actor(), self.where())
            await self._reply(reply)
            await self._deliver_now()
            return True
        if line.startswith("!"):
            word, _, rest = line[1:].partition(" ")
            return await self._console_command(word.lower(), rest.strip())
        self._say(
            "Commands start with / (try /coalition help); console commands with ! (try !help).",
            problem=True,
        )
        return True

    async def _console_command(self, word: str, rest: str) -> bool:
        if word in ("quit", "exit"):
            return False
        if word == "help":
            self._say(CONSOLE_HELP)
        elif word == "as":
            name = self._name(rest, "!as NAME")
            if name:
                self.user = name
                self._say(f"You are now {name}.")
        elif word == "channel":
            name = self._name(rest, "!channel NAME")
            if name:
                self.channel = name.lower()
                self._say(f"You are now in #{self.channel}.")
        elif word == "click":
            await self._click(rest)
        elif word == "advance":
            await self._advance(rest)
        elif word == "now":
            clock = self.dispatcher.app.clock
            zone = await self.dispatcher.viewer_zone(self.actor(), self.where())
            self._say(f"It is {format_time(clock.now(), zone)}.")
        else:
            self._say(f"There is no console command '!{word}'. Type !help for the list.", problem=True)
        return True

    def _name(self, text: str, usage: str) -> str | None:
        match = _NAME.fullmatch(text)
        if not match:
            self._say(
                f"Give a name of 1-32 letters, digits, '.', '-' or '_'. Usage: {usage}",
                problem=True,
            )
            return None
        return match.group(1)

    async def _click(self, rest: str) -> None:
        usage = 'Usage: !click N or !click "Label" (on an earlier message: !click m12 "Label")'
        try:
            words = tokenize(rest)
        except UsageError as exc:
            self._say(f"{exc.message} {usage}", problem=True)
            return
        if len(words) == 2 and not words[0].quoted and re.fullmatch(r"m\d+", words[0].value):
            target = next((m for m in self._visible() if m.message_id == words[0].value), None)
            if target is None or not target.clickables:
                self._say(f"You can see no message {words[0].value} with buttons. {usage}", problem=True)
                return
            words = words[1:]
        else:
            target = next((m for m in reversed(self._visible()) if m.clickables), None)
            if target is None:
                self._say(f"There is no message with buttons here yet. {usage}", problem=True)
                return
        if len(words) != 1:
            self._say(f"Say which button to press. {usage}", problem=True)
            return
        choice = words[0].value
        options = target.clickables
        picked = None
        if choice.isdigit() and 1 <= int(choice) <= len(options):
            picked = options[int(choice) - 1]
        elif re.fullmatch(r"\d+(,\d+)+", choice):
            picked = _several(options, [int(n) for n in choice.split(",")])
        else:
            picked = next((c for c in options if c.label.lower() == choice.lower()), None)
        if picked is None:
            labels = ", ".join(f"[{i}] {c.label}" for i, c in enumerate(options, 1))
            self._say(
                f"Message {target.message_id} has no button '{choice}'. Its buttons: {labels}.",
                problem=True,
            )
            return
        conversation = self.where(target.channel) if target.channel else self.where()
        reply = await self.dispatcher.run_action(
            picked.action_id,
            self.actor(),
            conversation,
            value=picked.value,
            message=MessageRef(conversation, target.message_id),
        )
        await self._reply(reply, clicked=target)
        await self._deliver_now()

    async def _deliver_now(self) -> None:
        """Send what is due now, as a live bot would, before the next line is read: on the simulated
        clock nothing runs by itself, and with piped input (a script) the next line must find the
        messages of the one before (`!click 2` presses the card just posted, not an older one)."""
        app = self.dispatcher.app
        if isinstance(app.clock, SimulatedClock) or not self.interactive:
            await app.scheduler.run_due()

    def _visible(self) -> list[ConsoleMessage]:
        """The messages the current member can see here, oldest first."""
        me = self.user.lower()
        seen = []
        for message in self.messages:
            if message.reply.private and message.user != me:
                continue
            if message.channel is None and message.user != me:
                continue
            if message.channel is not None and message.channel != self.channel and not message.reply.private:
                continue
            seen.append(message)
        return seen

    async def _advance(self, rest: str) -> None:
        clock = self.dispatcher.app.clock
        if not isinstance(clock, SimulatedClock):
            self._say("!advance needs the simulated clock: start with --clock simulated.", problem=True)
            return
        try:
            step = parse_duration(rest)
        except TimeProblem as exc:
            self._say(f"{exc} Usage: !advance DURATION (e.g. !advance 25h)", problem=True)
            return
        if step <= timedelta(0):
            self._say("Give a duration longer than zero, e.g. !advance 1h.", problem=True)
            return
        handled = await self.dispatcher.app.scheduler.advance_to(clock.now() + step)
        zone = await self.dispatcher.viewer_zone(self.actor(), self.where())
        self._say(
            f"Clock advanced {format_duration(step)} to {format_time(clock.now(), zone)}"
            f" ({handled} scheduled item{'s' if handled != 1 else ''} ran)."
        )


def _several(options: list[Clickable], numbers: list[int]) -> Clickable | None:
    """Options N, M... of one multi-choice menu, as the platforms send them: the values together."""
    if not all(1 <= n <= len(options) for n in numbers):
        return None
    chosen = [options[n - 1] for n in numbers]
    first = chosen[0]
    if first.value is None or any(c.action_id != first.action_id or c.value is None for c in chosen):
        return None
    return Clickable(", ".join(c.label for c in chosen), first.action_id, ",".join(c.value or "" for c in chosen))
