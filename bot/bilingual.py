"""Content written once per language: a broadcast, a poll's question and options, a meeting's
title, place and agenda may carry a second-language version (`--es "..."`, or `--en` where the
author writes Spanish). Each channel and member reads their own language's version, where there is
one; the other is a click away.

The version as written is in `language` (the author's, when it was made); the other in `second`,
JSON: {"language": "es", "fields": {"title": "...", ...}}.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from bot import i18n


class Bilingual(Protocol):
    """Content that may be written in two languages, as readers see it (a row, or its view)."""

    @property
    def language(self) -> str | None: ...

    @property
    def second(self) -> str | None: ...


class Translatable(Protocol):
    """Content a service gives a second version to: its row."""

    language: str | None
    second: str | None


def second_version(content: Bilingual) -> tuple[str, dict[str, Any]] | None:
    """(its language, its fields), or None for content written in one language."""
    if not content.second:
        return None
    data = json.loads(content.second)
    return data["language"], data["fields"]


def set_second(content: Translatable, language: str, fields: dict[str, Any]) -> None:
    content.second = json.dumps({"language": language, "fields": fields})


def version(content: Bilingual, field: str, as_written: Any) -> Any:
    """`field` as the reader in force reads it (`bot.i18n.language()`): the second version's
    when it is in their language and has the field, else `as_written`."""
    other = second_version(content)
    if other is not None and other[0] == i18n.language() and other[1].get(field) is not None:
        return other[1][field]
    return as_written


def shown_language(content: Bilingual) -> str | None:
    """The language of what the reader in force is shown: for a screen reader's voice."""
    other = second_version(content)
    if other is not None and other[0] == i18n.language():
        return other[0]
    return content.language


def the_other(content: Bilingual) -> str | None:
    """The language of the version the reader in force is NOT shown, when there are two."""
    other = second_version(content)
    if other is None:
        return None
    return content.language if other[0] == i18n.language() else other[0]
