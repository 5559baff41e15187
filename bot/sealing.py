"""Sealed ballots: the key material of one anonymous poll.

Each anonymous poll gets two random keys when it is created: one that turns a member into an
opaque voter key (HMAC-SHA256), one that encrypts each ballot's choices (AES-GCM, a fresh nonce
per ballot, so equal choices never look alike). Both are stored only wrapped, encrypted under a key
derived from ANONYMITY_SECRET, and are deleted when the poll closes, once the final count is
written. A copy of the database without the secret holds opaque keys and ciphertext; the operator
with the secret can link a voter to a choice only while the poll is open, never after.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.problems import Problem

SEALED = "s1:"  # marks a sealed value; older ballots (before sealing) are plain text
PADDED = "s2:"  # a sealed value padded to PAD bytes before sealing (what is sealed now)
_NONCE = 12
# Every sealed plaintext is padded to one size for its kind, or a multiple of it: AES-GCM keeps a
# plaintext's length, so an unpadded ballot's size would tell how many options were picked, or
# that an option's number has two digits. A ballot holds at most 25 option numbers (66 bytes with
# their commas and length), a survey answer a digit and a sector 40 characters; the sealed forms
# fit their columns (200 and 120 characters).
PAD = 96
SURVEY_PAD = 48


class SealProblem(Problem):
    """Key material or a sealed value that does not open: the wrong ANONYMITY_SECRET, or damage."""


@dataclass(frozen=True)
class PollKeys:
    voter: bytes
    choices: bytes
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.choices))  # built once: a vote burst opens thousands

    def voter_key(self, member_secret: object) -> str:
        return hmac.new(self.voter, str(member_secret).encode(), hashlib.sha256).hexdigest()

    def seal(self, value: str, pad: int = PAD) -> str:
        data = value.encode()
        framed = len(data).to_bytes(2, "big") + data
        framed += b"\0" * (-len(framed) % pad)
        nonce = os.urandom(_NONCE)
        return PADDED + base64.b64encode(nonce + self._aead.encrypt(nonce, framed, None)).decode()

    def open(self, stored: str) -> str:
        padded = stored.startswith(PADDED)
        if not padded and not stored.startswith(SEALED):
            return stored
        raw = base64.b64decode(stored[len(PADDED if padded else SEALED) :])
        try:
            plain = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], None)
        except InvalidTag as exc:
            raise SealProblem("a sealed ballot does not open with this poll's key") from exc
        if not padded:  # sealed before padding: the plaintext as it was
            return plain.decode()
        size = int.from_bytes(plain[:2], "big")
        return plain[2 : 2 + size].decode()


OUTBOX = "o1:"  # an outbox payload sealed under the secret until it is sent (feedback)
OUTBOX_PAD = 512  # a sealed payload's size says its text's length only to the nearest 512 bytes


def _outbox_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"coalition-bot outbox v1", hashlib.sha256).digest()


def seal_payload(payload: str, secret: str) -> str:
    """A message waiting in the outbox, unreadable in a copy of the database without the secret."""
    data = payload.encode()
    framed = len(data).to_bytes(4, "big") + data
    framed += b"\0" * (-len(framed) % OUTBOX_PAD)
    nonce = os.urandom(_NONCE)
    return OUTBOX + base64.b64encode(nonce + AESGCM(_outbox_key(secret)).encrypt(nonce, framed, None)).decode()


def open_payload(stored: str, secret: str) -> str:
    """An outbox payload as it was queued; a payload that was never sealed as it is."""
    if not stored.startswith(OUTBOX):
        return stored
    raw = base64.b64decode(stored[len(OUTBOX) :])
    try:
        plain = AESGCM(_outbox_key(secret)).decrypt(raw[:_NONCE], raw[_NONCE:], None)
    except InvalidTag as exc:
        raise SealProblem("a sealed message in the outbox does not open with this ANONYMITY_SECRET") from exc
    size = int.from_bytes(plain[:4], "big")
    return plain[4 : 4 + size].decode()


def new_keys() -> PollKeys:
    return PollKeys(os.urandom(32), os.urandom(32))


def _wrapping_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"coalition-bot poll keys v1", hashlib.sha256).digest()


def wrap(keys: PollKeys, secret: str, poll_id: int | str) -> str:
    """The poll's keys, encrypted under the secret and bound to the poll (they open for no other).
    An anonymous proposal's are bound to "proposal:ID", so they open for no poll either."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_wrapping_key(secret)).encrypt(nonce, keys.voter + keys.choices, str(poll_id).encode())
    return base64.b64encode(nonce + sealed).decode()


def unwrap(wrapped: str, secret: str, poll_id: int | str) -> PollKeys:
    raw = base64.b64decode(wrapped)
    try:
        plain = AESGCM(_wrapping_key(secret)).decrypt(raw[:_NONCE], raw[_NONCE:], str(poll_id).encode())
    except InvalidTag as exc:
        which = poll_id if isinstance(poll_id, str) else f"poll #{poll_id}"
        raise SealProblem(f"{which}'s keys do not open with this ANONYMITY_SECRET") from exc
    return PollKeys(plain[:32], plain[32:])


def unopened(sample: list[tuple[int, str]], secret: str) -> list[int]:
    """The polls among `sample` (poll id, wrapped keys) whose keys `secret` does not open."""
    bad = []
    for poll_id, wrapped in sample:
        try:
            unwrap(wrapped, secret, poll_id)
        except (SealProblem, ValueError):
            bad.append(poll_id)
    return bad


def wrong_secret(bad: list[int]) -> str | None:
    """The one line that says the secret is not the database's, and what fixes it; None if it is."""
    if not bad:
        return None
    polls = ", ".join(f"#{n}" for n in bad)
    return (
        f"ANONYMITY_SECRET: it does not open the sealed keys of anonymous poll(s) {polls} in this database, so "
        "it is not the secret this database was used with. Put the database's own secret back (its "
        "coalition.db.secret file, ANONYMITY_SECRET or ANONYMITY_SECRET_FILE, kept with its backup) and start again"
    )
