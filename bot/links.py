"""Signed links: what a member on email clicks instead of a button.

A link names one member, one purpose (confirm, leave, or one button's action) and when it stops
working, signed with a key derived from ANONYMITY_SECRET (HMAC-SHA256). Nothing is stored per
link: a link with one character changed, past its time, or of a member who left or was forgotten
opens nothing. Mail scanners open every link they see, so opening one (GET) only shows a page;
the form on that page acts (POST), carrying a form token derived from the link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

LINK_LIFETIME = timedelta(days=60)
MAX_TOKEN = 4000  # characters: a menu's link carries its options; still well below what mail clients take
OPTION_LABEL = 60  # characters of each option's label a menu's link keeps


@dataclass(frozen=True)
class Link:
    """What a link lets its member do."""

    user_id: str  # the member's email user id (members.user_id, platform "email")
    workspace_id: str  # the coalition's email space ("c12")
    purpose: str  # "act" (a button), "choose" (a menu), "leave", "settings", "view" (a card as it stands)
    action_id: str = ""  # for "act" and "choose": the button's or the menu's action id
    value: str | None = None  # for "act" on a menu option: its value
    label: str = ""  # what the page asks the member to confirm
    expires: int = 0  # Unix time
    options: tuple[tuple[str, str], ...] = ()  # for "choose": (value, label) of each option
    limit: int = 1  # for "choose": how many options may be picked


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"coalition-bot email links v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(link: Link, secret: str) -> str:
    options = [[value, label[:OPTION_LABEL]] for value, label in link.options]
    fields = [link.user_id, link.workspace_id, link.purpose, link.action_id, link.value, link.label[:120], link.expires]
    body = _b64(json.dumps([*fields, options, link.limit], separators=(",", ":"), ensure_ascii=False).encode())
    mac = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def new_link(secret: str, now: datetime, **fields: object) -> str:
    expires = int((now + LINK_LIFETIME).timestamp())
    return sign(Link(expires=expires, **fields), secret)  # type: ignore[arg-type]


class LinkProblem(Exception):
    """Why a link opens nothing, for the page that says so."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "damaged" or "expired"


def verify(token: str, secret: str, now: datetime) -> Link:
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise LinkProblem("damaged")
    body, mac = token.split(".")
    expected = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        raise LinkProblem("damaged")
    try:
        user_id, workspace_id, purpose, action_id, value, label, expires, options, limit = json.loads(_unb64(body))
        choices = tuple((str(v), str(t)) for v, t in options)
    except (ValueError, TypeError):
        raise LinkProblem("damaged") from None
    link = Link(
        str(user_id),
        str(workspace_id),
        str(purpose),
        str(action_id),
        value,
        str(label),
        int(expires),
        choices,
        int(limit),
    )
    if now.timestamp() > link.expires:
        raise LinkProblem("expired")
    return link


def form_token(token: str, secret: str) -> str:
    """The hidden field of the page a link opens: a POST without it (a scanner that guessed the
    form, a page of another site) acts on nothing."""
    return _b64(hmac.new(_key(secret), b"form:" + token.encode(), hashlib.sha256).digest())


def form_token_ok(token: str, given: str, secret: str) -> bool:
    return hmac.compare_digest(form_token(token, secret), given)
