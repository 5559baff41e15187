"""A reply as an email: a plain-text part and an HTML part that say the same, buttons as links.

Everything a member typed is escaped in the HTML part and can add no header: names and titles
reach headers only through `email.headerregistry`, which refuses line breaks, and the subject is
made from the bot's own words with every line break folded away.
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.charset import BASE64, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from typing import Any
from zoneinfo import ZoneInfo

from bot import markup
from bot.i18n import _, speaking
from bot.replies import Actions, Button, Context, Divider, Reply, Section, Select, form_target


# Built with the standard library's compat32 classes and flattened once: the `email.policy.default`
# API parses every header it is given, which made composing four times slower (bench/email.py).
# Headers are checked here instead: every value is one line (`one_line`, `address_header`), and
# `compose` refuses a line break. Lines may run to 998 characters (RFC 5322), so that a
# List-Unsubscribe address stays one word that mail providers read as it is.
class _Wire(Compat32):
    """compat32 writing each header as it was set: every value here is already one line of
    ASCII, or RFC 2047 words folded by `_encoded` (compat32 would re-encode each one)."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        return f"{name}: {str(value).replace(chr(13) + chr(10), chr(10)).replace(chr(10), self.linesep)}{self.linesep}"


WIRE = _Wire(linesep="\r\n", max_line_length=998)
UTF8 = Charset("utf-8")
UTF8.header_encoding = BASE64  # "=?utf-8?b?...?=": encoded in C (the "q" encoder is pure Python)
BOLD = "\x00"  # where `**` toggled bold, resolved to <strong> and </strong> in turn
SUBJECT_LENGTH = 78


def _plain(text: str, zone: ZoneInfo, now: datetime) -> str:
    return markup.plain(text, zone, now)


def _html(text: str, zone: ZoneInfo, now: datetime, written_in: str | None = None) -> str:
    """`written_in`: the language of what members wrote, where it differs from the message's:
    marked `lang`, so a screen reader reads a Spanish title in an English email in Spanish."""
    rendered = markup.render(
        text,
        bot=html.escape,
        user=(lambda s: f'<span lang="{html.escape(written_in)}">{html.escape(s)}</span>')
        if written_in
        else html.escape,
        time=lambda when, style: html.escape(markup.format_time(when, zone, style, now)),
        member=lambda m: html.escape(m.display_name or m.user_id),
        bold=BOLD,
    )
    parts = rendered.split(BOLD)
    out = [parts[0]]
    for i, part in enumerate(parts[1:]):
        out.append("<strong>" if i % 2 == 0 else "</strong>")
        out.append(part)
    if len(parts) % 2 == 0:
        out.append("</strong>")
    return "".join(out).replace("\n", "<br>\n")


@dataclass(frozen=True)
class Mail:
    """One email as it goes on the wire, with its envelope."""

    sender: str  # MAIL FROM
    recipient: str  # RCPT TO
    data: bytes  # the message, CRLF line endings


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """UTF-8 text as quoted-printable (lines kept under 76 characters, whatever a member wrote),
    encoded by `binascii` in C: the pure-Python encoder cost a millisecond a message."""
    part = MIMENonMultipart("text", subtype, charset="utf-8", policy=WIRE)
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode(), istext=True).decode("ascii"))
    return part


def _encoded(text: str) -> str:
    """A header text as RFC 2047 words of at most 75 characters where it is not plain ASCII."""
    text = one_line(text)
    return text if text.isascii() else Header(text, UTF8, maxlinelen=76).encode(linesep="\r\n")


def address_header(name: str, address: str) -> str:
    """`Name <address>`: the name made one line, quoted or encoded as it needs."""
    name = one_line(name)
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))
    return f"{_encoded(name)} <{address}>"


def one_line(text: str) -> str:
    """Text fit for a header: no line break or control character can start another header."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", markup.strip_markers(text)).strip()


@dataclass(frozen=True)
class Choice:
    """One link of an email: a button, or a whole menu (its page lists the options)."""

    label: str
    action_id: str
    options: tuple[tuple[str, str], ...] = ()  # a menu's (value, label); none for a button
    limit: int = 1  # how many of a menu's options may be picked


def links_of(reply: Reply) -> list[Choice]:
    found: list[Choice] = []
    for block in reply.blocks:
        if not isinstance(block, Actions):
            continue
        for element in block.elements:
            if isinstance(element, Button) and form_target(element.action_id) is not None:
                continue  # a form to type into: a member on email types no commands
            if isinstance(element, Button):
                found.append(Choice(markup.strip_markers(element.label), element.action_id))
            elif isinstance(element, Select):
                options = tuple((o.value, markup.strip_markers(o.label)) for o in element.options)
                found.append(
                    Choice(markup.strip_markers(element.placeholder), element.action_id, options, element.max_values)
                )
    return found


def subject_of(reply: Reply, zone: ZoneInfo, now: datetime, coalition: str) -> str:
    """The message's first sentence, short enough for a phone's list of mail, after the
    coalition's name (unless the sentence starts with it)."""
    first = next((line for line in _plain(reply.text, zone, now).splitlines() if line.strip()), "")
    first = re.sub(r"[\s*_`]+", " ", one_line(first)).strip(" :")
    first = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    if len(first) > SUBJECT_LENGTH:
        first = first[: SUBJECT_LENGTH - 1].rsplit(" ", 1)[0] + "…"
    name = one_line(coalition)
    if not first or first.startswith(name):
        return first or name
    return f"{name}: {first}"


def body(reply: Reply, zone: ZoneInfo, now: datetime, link: Callable[[Choice], str]) -> tuple[list[str], list[str]]:
    """The reply's blocks as lines of plain text and as HTML, its buttons as links (`link(choice)`
    makes each one's address): an email's body, and the page of a card as it stands now."""
    text_parts: list[str] = []
    html_parts: list[str] = []
    written_in = reply.written_in if reply.written_in and reply.written_in != reply.language else None
    for block in reply.blocks or (Section(reply.text),):
        if isinstance(block, Section):
            text_parts.append(_plain(block.text, zone, now))
            html_parts.append(f"<p>{_html(block.text, zone, now, written_in)}</p>")
            for field in block.fields:
                text_parts.append(f"  {_plain(field.label, zone, now)}: {_plain(field.value, zone, now)}")
                html_parts.append(
                    f"<p><strong>{_html(field.label, zone, now)}</strong>: {_html(field.value, zone, now)}</p>"
                )
        elif isinstance(block, Context):
            text_parts.append(_plain(block.text, zone, now))
            html_parts.append(f'<p style="color:#555;font-size:90%">{_html(block.text, zone, now, written_in)}</p>')
        elif isinstance(block, Divider):
            text_parts.append("-" * 40)
            html_parts.append("<hr>")
    actions = links_of(reply)
    if actions:
        text_parts.append("")
        html_items = []
        for choice in actions:
            address, label = link(choice), choice.label
            text_parts.append(f"{label}: {address}")
            html_items.append(
                f'<li style="margin:0 0 12px"><a href="{html.escape(address)}" style="display:inline-block;'
                f'padding:10px 16px;background:#2c5f2d;color:#ffffff;text-decoration:none;border-radius:4px">'
                f"{html.escape(label)}</a></li>"
            )
        html_parts.append(f'<ul style="list-style:none;padding:0">{"".join(html_items)}</ul>')
    return text_parts, html_parts


def compose(
    reply: Reply,
    *,
    sender: tuple[str, str],
    to: tuple[str, str],
    reply_to: str | None,
    coalition: str,
    zone: ZoneInfo,
    now: datetime,
    link: Callable[[Choice], str],
    leave: str,
    forget: str,
    settings: str | None,
    view: str | None,
    message_id: str,
    list_id: str,
    automatic: bool,
    language: str,
    thread: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> Mail:
    """The email for one recipient, in `language` unless the reply says its own. `link(choice)`
    makes each button's (or menu's) signed address; `leave` is the member's own leaving
    address (footer and List-Unsubscribe), `forget` the one that erases what the coalition holds
    about them; `view` the page of the card as it stands now (a meeting's or a poll's), since a
    sent email cannot change; `thread` the root Message-ID its thread hangs from; `attachment` a
    calendar file (name, content)."""
    reply = replace(reply, language=reply.language or language)
    with speaking(reply.language):
        text_parts, html_parts = body(reply, zone, now, link)
        if view:
            text_parts += ["", _("As it stands now: {link}").format(link=view)]
            see = _("See it as it stands now")
            html_parts.append(f'<p><a href="{html.escape(view)}">{html.escape(see)}</a></p>')
        why = _("You get this email as a member of {coalition}.").format(coalition=one_line(coalition))
        stop = _("Leave: {link}").format(link=leave)
        erase = _("Erase everything the coalition holds about you: {link}").format(link=forget)
        change = [_("Your language, time zone and reminders: {link}").format(link=settings)] if settings else []
        text_parts += ["", "--", why, *change, stop, erase]
        yours, leaving, erasing = _("Your settings"), _("Leave the list"), _("Erase my data")
        own = f'<a href="{html.escape(settings)}">{html.escape(yours)}</a> · ' if settings else ""
        html_parts.append(
            f'<hr><p style="color:#555;font-size:90%">{html.escape(why)} {own}'
            f'<a href="{html.escape(leave)}">{html.escape(leaving)}</a> · '
            f'<a href="{html.escape(forget)}">{html.escape(erasing)}</a></p>'
        )
        subject = subject_of(reply, zone, now, coalition)
        page = (
            f'<!DOCTYPE html><html lang="{html.escape(reply.language or "en")}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{html.escape(subject)}</title>'
            f'</head><body style="font-family:sans-serif;font-size:16px;line-height:1.5;max-width:40em">'
            f"{''.join(html_parts)}</body></html>"
        )
    alternative = MIMEMultipart("alternative", policy=WIRE)
    alternative.attach(_text_part("\n".join(text_parts) + "\n", "plain"))
    alternative.attach(_text_part(page, "html"))
    message: Message = alternative
    if attachment is not None:
        message = MIMEMultipart("mixed", policy=WIRE)
        message.attach(alternative)
        calendar = _text_part(attachment[1].decode(), "calendar")
        calendar.add_header("Content-Disposition", "attachment", filename=attachment[0])
        message.attach(calendar)
    headers = [
        ("Subject", _encoded(subject)),
        ("From", address_header(sender[0], sender[1])),
        ("To", address_header(to[0], to[1])),
        *([("Reply-To", reply_to)] if reply_to else []),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
        *([("In-Reply-To", thread), ("References", thread)] if thread else []),
        ("List-Id", list_id),
        ("List-Unsubscribe", f"<{leave}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        *([("Auto-Submitted", "auto-generated")] if automatic else []),
        ("Content-Language", reply.language or "en"),
    ]
    for name, value in headers:
        if re.search(r"\r\n(?![ \t])|\r(?!\n)|(?<!\r)\n(?![ \t])", value):  # only a fold may break a line
            raise ValueError(f"{name}: a header value cannot hold a line break")
        message[name] = value
    return Mail(sender[1], to[1], message.as_bytes(policy=WIRE))
