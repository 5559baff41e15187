"""Email behind the Messenger port: each outbox row is one email to one member's address.

The outbox names a member (a private message) or a member's own channel (a post): both are the
member's email user id, looked up here through the email service. Sent over SMTP (aiosmtplib), or
written as `.eml` files into EMAIL_DIR, so that anyone can try email with the console and no
server. An email cannot be changed once sent, so edits (live tallies) are not mailed; a server's
5xx for an address fails that delivery for good (three in a row pause the address), anything else
is retried by the outbox with its backoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

import aiosmtplib

from adapters.email import render
from bot.i18n import _, speaking
from bot.links import new_link
from bot.messenger import DeliveryError
from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply
from bot.services.email import ACTIVE, WAITING, Recipient

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
LINK_PATH = "/e/"
RSVP_PREFIX = "meeting:rsvp:"  # the answer buttons of a meeting's card (commands/meeting.py)
# A card whose counts change (a meeting's RSVPs, a poll's tally) by its thread, to the read-only
# action that shows it as it stands now: an email cannot be edited, so each links to that page.
VIEWS = {"meeting": "meeting:card", "poll": "poll:card", "decision": "decision:card"}
RECIPIENTS_KEPT = 10.0  # seconds a workspace's addresses are kept in memory between deliveries


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    security: str  # starttls, tls or none
    timeout: float = 30.0


class Sender(Protocol):
    async def send(self, mail: render.Mail, key: str) -> None: ...


class SmtpSender:
    """Sends over a few SMTP connections kept open between messages (a relay would otherwise pay a
    handshake, and often a TLS one, for each of thousands of messages)."""

    def __init__(self, settings: SmtpSettings, connections: int = 4) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(connections)

    def _client(self, timeout: float) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            timeout=timeout,
        )

    async def _connected(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
        client = self._client(self.settings.timeout)
        await client.connect()
        if self.settings.username:
            await client.login(self.settings.username, self.settings.password or "")
        return client

    async def send(self, mail: render.Mail, key: str) -> None:
        async with self._slots:
            client: aiosmtplib.SMTP | None = None
            try:
                client = await self._connected()
                await client.sendmail(mail.sender, [mail.recipient], mail.data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                refused = exc.recipients[0] if exc.recipients else None
                code = refused.code if refused is not None else 0
                reason = f"{code} {refused.message}" if refused is not None else str(exc)
                await self._reset(client)
                raise DeliveryError(f"the mail server refused the address ({reason})", permanent=code >= 500) from exc
            except aiosmtplib.SMTPResponseException as exc:
                await self._reset(client)
                raise DeliveryError(
                    f"the mail server said {exc.code} {exc.message}", permanent=exc.code >= 500
                ) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                self._drop(client)
                raise DeliveryError(f"the mail server did not answer ({type(exc).__name__})") from exc
            self._idle.append(client)

    async def _reset(self, client: aiosmtplib.SMTP | None) -> None:
        """After a refusal the connection is still good once the transaction is reset."""
        if client is None:
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self._drop(client)
            return
        self._idle.append(client)

    @staticmethod
    def _drop(client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            client.close()

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def check(self) -> str | None:
        """Whether the server answers and takes the login; what is wrong, or None (for the doctor)."""
        s = self.settings
        client = self._client(10)
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password or "")
            await client.quit()
        except aiosmtplib.SMTPAuthenticationError:
            return "SMTP_USERNAME/SMTP_PASSWORD: the mail server refused the login"
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return f"SMTP_HOST: the mail server at {s.host}:{s.port} does not answer ({type(exc).__name__})"
        return None


class FolderSender:
    """EMAIL_DIR: each message as a `.eml` file, named by its delivery (so a retry rewrites it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, mail: render.Mail, key: str) -> None:
        name = hashlib.sha256(key.encode()).hexdigest()[:24] + ".eml"
        await asyncio.to_thread(self._write, self.folder / name, mail.data)

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".sending-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)


@dataclass(frozen=True)
class MemberLinks:
    """Every link in one member's email is made here: signed for them, for one purpose."""

    secret: str
    now: datetime
    base: str
    workspace: str
    user_id: str

    def address(self, purpose: str, **fields: object) -> str:
        token = new_link(
            self.secret, self.now, user_id=self.user_id, workspace_id=self.workspace, purpose=purpose, **fields
        )
        return f"{self.base.rstrip('/')}{LINK_PATH}{token}"

    def choice(self, choice: render.Choice) -> str:
        """A button's link (its page confirms, then acts), or a menu's (its page lists the options)."""
        return self.address(
            "choose" if choice.options else "act",
            action_id=choice.action_id,
            label=choice.label,
            options=choice.options,
            limit=choice.limit,
        )


def thread_of(reply: Reply) -> str | None:
    """What a card is about, from its buttons' action ids ("poll:vote:12:0" -> "poll-12"), so that
    its announcement, reminders and answers thread together; None for a message without buttons."""
    for choice in render.links_of(reply):
        parts = choice.action_id.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            return f"{parts[0]}-{parts[2]}"
    return None


def view_of(thread: str | None) -> str | None:
    """The read-only action that shows a thread's card as it stands now ("poll:card:12"), for
    the cards whose counts change; None for the others."""
    kind, _dash, number = (thread or "").partition("-")
    shown = VIEWS.get(kind)
    return f"{shown}:{number}" if shown else None


class EmailMessenger:
    edits = False  # a sent email stays as it is: no card edits are queued for email (Outbox.unedited)

    def __init__(
        self, app: App, platform: str, sender: Sender, sender_address: tuple[str, str], reply_to: str | None
    ) -> None:
        self.app = app
        self.platform = platform
        self.sender = sender
        self.sender_address = sender_address
        self.reply_to = reply_to
        self.domain = sender_address[1].rpartition("@")[2] or "localhost"
        # workspace -> (when read, its members on email): a broadcast to thousands reads them once
        self._recipients: dict[str, tuple[float, dict[str, Recipient]]] = {}
        self._reading: dict[str, asyncio.Lock] = {}

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str) -> MessageRef:
        return await self._mail(conversation.workspace_id, conversation.channel_id, reply, key, private=False)

    async def send_private(self, user: UserRef, reply: Reply, *, key: str) -> MessageRef:
        return await self._mail(user.workspace_id, user.user_id, reply, key, private=True)

    async def update(self, message: MessageRef, reply: Reply) -> None:
        """An email cannot be changed once sent: a live tally is read on the link's page instead."""

    async def find_sent(
        self, conversation: ConversationRef | UserRef, key: str, *, reply: Reply, since: datetime
    ) -> MessageRef | None:
        return None  # a mail server cannot be asked what it delivered

    def addresses(self, workspace: str, user_id: str) -> MemberLinks | None:
        """The member's signed links, on the bot's HTTP server; None while it is not serving."""
        base = self.app.public_base()
        if base is None:
            return None
        return MemberLinks(self.app.secret, self.app.clock.now(), base, workspace, user_id)

    def forget_recipients(self, workspace: str) -> None:
        """What is kept of a workspace's members is read again at the next delivery."""
        self._recipients.pop(workspace, None)

    async def _calendar(self, reply: Reply, coalition_id: int) -> tuple[str, bytes] | None:
        """A meeting's card (its buttons answer a meeting) goes with the meeting's calendar file."""
        occurrence = next(
            (b.action_id.split(":")[2] for b in reply.buttons if b.action_id.startswith(RSVP_PREFIX)), None
        )
        if occurrence is None or not occurrence.isdigit():
            return None
        async with self.app.unit_of_work() as services:
            return await services.meetings.ics_of_occurrence(coalition_id, int(occurrence))

    async def _recipient(self, workspace: str, user_id: str) -> Recipient | None:
        """Whom a delivery goes to, read for the whole workspace at once and kept RECIPIENTS_KEPT
        seconds; a member not among them, or not active, is read again, and a refusal forgets them."""
        asked = time.monotonic()
        # One read at a time per workspace: the deliveries sent side by side wait for it.
        async with self._reading.setdefault(workspace, asyncio.Lock()):
            kept = self._recipients.get(workspace)
            known = kept[1].get(user_id) if kept is not None else None
            # Only an active address is taken from memory: one confirmed a moment ago is read again.
            fresh = kept is not None and kept[0] >= asked
            stale = kept is None or time.monotonic() - kept[0] > RECIPIENTS_KEPT
            if not fresh and (stale or known is None or known.state != ACTIVE):
                async with self.app.unit_of_work() as services:
                    kept = (time.monotonic(), await services.email.recipients(workspace))
                self._recipients[workspace] = kept
        assert kept is not None
        return kept[1].get(user_id)

    async def _mail(self, workspace: str, user_id: str, reply: Reply, key: str, *, private: bool) -> MessageRef:
        recipient = await self._recipient(workspace, user_id)
        if recipient is None:
            raise DeliveryError("this member is no longer on email", permanent=True)
        if recipient.state != ACTIVE and not (private and recipient.state == WAITING):
            raise DeliveryError(f"the address is {recipient.state}: nothing is mailed to it", permanent=True)
        signed = self.addresses(workspace, user_id)
        if signed is None:
            raise DeliveryError("the bot's HTTP server is not running: links would lead nowhere")
        address, link = signed.address, signed.choice
        now = self.app.clock.now()
        leave = address("leave")
        with speaking(recipient.language):
            label = _("Erase everything the coalition holds about me")
        forget = link(render.Choice(label, f"coalition:forget:{recipient.member_id}"))
        settings = address("settings") if recipient.state == ACTIVE else None  # nothing to set until confirmed
        thread = thread_of(reply)
        shown = view_of(thread) if recipient.state == ACTIVE else None
        view = address("view", action_id=shown) if shown else None
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        # A meeting's or a poll's emails thread together in the mail program.
        root = f"<{thread}.{recipient.coalition_id}@{self.domain}>" if thread is not None else None
        mail = render.compose(
            reply,
            sender=self.sender_address,
            to=(recipient.name, recipient.address),
            reply_to=self.reply_to,
            coalition=recipient.coalition,
            zone=ZoneInfo(recipient.timezone),
            now=now,
            link=link,
            leave=leave,
            forget=forget,
            settings=settings,
            view=view,
            message_id=f"<{digest}@{self.domain}>",
            list_id=f"<coalition-{recipient.coalition_id}.{self.domain}>",
            automatic=private,
            language=recipient.language,
            thread=root,
            attachment=await self._calendar(reply, recipient.coalition_id),
        )
        try:
            await self.sender.send(mail, key)
        except DeliveryError as exc:
            if exc.permanent:
                self._recipients.pop(workspace, None)
                async with self.app.unit_of_work() as services:
                    if await services.email.refused(workspace, user_id, exc.reason):
                        log.warning("an address was paused after repeated permanent failures")
                    await services.commit()
            raise
        if recipient.failures:
            async with self.app.unit_of_work() as services:
                await services.email.delivered(workspace, user_id)
                await services.commit()
            self._recipients.pop(workspace, None)
        return MessageRef(ConversationRef(self.platform, workspace, user_id), digest)
