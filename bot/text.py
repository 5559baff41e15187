"""Checks on text typed by users, before anything is stored or posted.

Refusing (rather than silently altering) keeps what is stored exactly what the member meant, and
the message tells them what to fix.
"""

from __future__ import annotations

import unicodedata

from bot.i18n import _
from bot.markup import strip_markers
from bot.problems import Problem

# Invisible characters that reorder or hide text: used to disguise links and names.
_BIDI_AND_INVISIBLE = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class TextProblem(Problem):
    """Text a member typed cannot be used; the message says why in plain words."""


def check_text(text: str, *, what: str, max_length: int, multiline: bool = False) -> str:
    """Return the text, tidied at the edges, or raise TextProblem naming `what` and the limit."""
    text = strip_markers(text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise TextProblem(_("{what} is empty.").format(what=what))
    for ch in text:
        if ch == "\n" and multiline:
            continue
        if ch == "\t":
            continue
        if ch == "\n":
            raise TextProblem(_("{what} must be on one line.").format(what=what))
        if ch in _BIDI_AND_INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"):
            raise TextProblem(
                _("{what} contains an invisible control character (U+{ch:04X}); please remove it.").format(
                    what=what, ch=ord(ch)
                )
            )
    if len(text) > max_length:
        raise TextProblem(
            _("{what} is {text} characters long; the limit is {max_length}.").format(
                what=what, text=len(text), max_length=max_length
            )
        )
    return text


def split_text(text: str, limit: int) -> list[str]:
    """Cut at line breaks (else spaces) so no piece passes `limit` characters; nothing is dropped.
    Adapters use it to fit a platform's per-block or per-embed limit."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces


def plural(n: int, noun: str, plural: str | None = None) -> str:
    """`1 channel`, `3 channels`: members read "1 voter", never "1 voter(s)"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def small_number(text: str) -> int | None:
    """A number typed or carried in a button's id, or None: ASCII digits only (`str.isdigit` also
    accepts '²' and '①', which `int` refuses) and at most nine of them, so no id overflows a column."""
    return int(text) if 0 < len(text) <= 9 and text.isascii() and text.isdigit() else None
