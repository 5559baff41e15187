"""Members' languages: a text is looked up in the language of whoever will read it.

Texts are written in English in the code and wrapped in `_()` (or `ngettext` where a count decides
the form), with named placeholders filled after the lookup, so a translation may reorder them:
`_("Poll #{id} is closed.").format(id=poll.id)`. The catalogs are gettext .po files under
`bot/locales/`, kept with Babel's `pybabel extract/update` (README, "Languages") and read here with
Babel, compiled in memory, so there is no build step and no binary file to keep in step.

The language in force is a context variable: the dispatcher sets the member's for their replies,
and whoever writes to a channel sets the channel's (`speaking`). English needs no catalog and no
Babel at all, so a bot that speaks only English starts as fast as before.
"""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
# Each language the bot speaks, by its code, named in itself (as a member looks for it).
LANGUAGES = {"en": "English", "es": "Español"}
_NAMES = {
    "en": "en",
    "english": "en",
    "inglés": "en",
    "ingles": "en",
    "es": "es",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "castellano": "es",
}

_current: ContextVar[str] = ContextVar("language", default=DEFAULT)


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalog, read once per process; English (the code's own) needs none."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext.NullTranslations()
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def _(message: str) -> str:
    """`message` in the language in force."""
    return translations(_current.get()).gettext(message)


def pgettext(context: str, message: str) -> str:
    """`message` in the language in force, where the same English says different things in
    different places ("the coalition's default" time zone, and language)."""
    return translations(_current.get()).pgettext(context, message)


def N_(message: str) -> str:
    """Marks a text to translate where it is shown, not where it is declared (a command's
    description, made once at import, shown to each member in their language)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for `n` ("1 voter", "3 voters") in the language in force."""
    return translations(_current.get()).ngettext(singular, plural, n)


def language() -> str:
    return _current.get()


@contextmanager
def speaking(code: str | None) -> Iterator[None]:
    """Texts made inside the block are in `code` (English when None or unknown)."""
    token = _current.set(code if code in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def language_name(code: str) -> str:
    """A language's name in the language in force ("Spanish" to an English reader, "español" to a
    Spanish one); LANGUAGES holds each name in itself, for choosing."""
    names = {"en": _("English"), "es": _("Spanish")}
    return names.get(code, code)


def parse_language(text: str) -> str | None:
    """A language as a member names it ("es", "Español", "spanish", "es-419"); None if we do not speak it."""
    word = text.strip().lower()
    return _NAMES.get(word) or from_locale(word)


def from_locale(locale: str | None) -> str | None:
    """The language of a platform's locale ("es-ES", "es-419", "en_US"), if the bot speaks it."""
    if not locale:
        return None
    code = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    return code if code in LANGUAGES else None
