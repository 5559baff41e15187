"""Free text to a command and typed arguments, for platforms where members type commands (Slack,
the console). Discord sends options already split; it goes through `coerce_args` only.

Double quotes group words (`/poll create "Is 7pm ok?" Yes No`); the curly quotes that phones and
Slack's editor substitute count too. Single quotes do not, so "Can't go" stays one word's worth of
apostrophe. Every failure is a UsageError that names the bad part and shows the correct usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.platform import Platform
from bot.text import TextProblem
from bot.times import TimeProblem, parse_when
from commands.converters import Reading, convert, converter, suggestion
from commands.errors import UsageError
from commands.registry import Registry
from commands.spec import CommandSpec, OptionType

OPEN_QUOTES = '"“„”'
CLOSE_QUOTES = {'"': '"', "“": "”", "„": "“”", "”": "”"}
MAX_COMMAND_LENGTH = 8000
NO_PLATFORM = Platform()  # mentions of members are then never understood; channels by #name only


@dataclass(frozen=True)
class Token:
    value: str
    quoted: bool


@dataclass(frozen=True)
class ParseContext:
    """What coercion needs to know about the member: where times are read, and now."""

    zone: ZoneInfo
    now: datetime
    # How ambiguous input was read ("'7' was read as 7pm ..."): added to the reply by the dispatcher.
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedCommand:
    spec: CommandSpec
    path: tuple[str, ...]
    args: dict[str, Any]


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in OPEN_QUOTES:
            closers = CLOSE_QUOTES[ch]
            start = i
            i += 1
            buf: list[str] = []
            while i < n and text[i] not in closers:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\”':
                    i += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                fragment = text[start : start + 30]
                raise UsageError(
                    _("The quote that starts at {fragment} is never closed.").format(fragment=repr(fragment))
                )
            i += 1
            tokens.append(Token("".join(buf), True))
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] not in OPEN_QUOTES:
            i += 1
        tokens.append(Token(text[start:i], False))
    return tokens


def parse(registry: Registry, text: str, ctx: ParseContext, *, platform: Platform = NO_PLATFORM) -> ParsedCommand:
    if len(text) > MAX_COMMAND_LENGTH:
        raise UsageError(
            _("That command is {text} characters long; the limit is {MAX_COMMAND_LENGTH}.").format(
                text=len(text), MAX_COMMAND_LENGTH=MAX_COMMAND_LENGTH
            )
        )
    tokens = tokenize(text.strip())
    if not tokens:
        raise UsageError(_("Type a command, for example /coalition help."))
    name = tokens[0].value.lstrip("/").lower()
    spec = registry.get(name)
    if spec is None:
        raise UsageError(
            _("There is no command '/{name}'.{name2} Commands: {join}.").format(
                name=name,
                name2=suggestion(name, registry.names(), prefix="/"),
                join=", ".join("/" + n for n in registry.names()),
            ),
            "/coalition help",
        )
    path: tuple[str, ...] = (spec.name,)
    rest = tokens[1:]
    while spec.is_group:
        if rest and not rest[0].quoted and not rest[0].value.startswith("--"):
            word = rest[0].value.lower()
            sub = spec.subcommand(word)
            if sub is None:
                names = [s.name for s in spec.subcommands]
                raise UsageError(
                    _("'/{path}' has no subcommand '{word}'.{word2} Choose one of: {names}.").format(
                        path=" ".join(path), word=word, word2=suggestion(word, names), names=", ".join(names)
                    ),
                    registry.usage(path),
                )
            rest = rest[1:]
        elif spec.default_subcommand:
            sub = spec.subcommand(spec.default_subcommand)
            assert sub is not None
        else:
            listed = ", ".join(s.name for s in spec.subcommands)
            said = _("'/{command}' needs a subcommand: {names}.").format(command=" ".join(path), names=listed)
            raise UsageError(said, registry.usage(path))
        spec = sub
        path = (*path, spec.name)
    usage = registry.usage(path)
    raw = _bind_tokens(spec, rest, usage)
    try:
        return ParsedCommand(spec, path, coerce_args(spec, raw, ctx, usage, platform=platform))
    except UsageError as exc:
        hint = _unquoted_title(spec, path, rest, raw, ctx)
        if hint is None:
            raise
        raise UsageError(f"{exc.message} {hint}", usage) from exc


def _unquoted_title(
    spec: CommandSpec, path: tuple[str, ...], tokens: list[Token], raw: dict[str, Any], ctx: ParseContext
) -> str | None:
    """`/meeting schedule Coalition meeting tomorrow 7pm`: the title's second word was read as the
    start of the time. If moving leading words from the time into the title makes both readable,
    say so, with the command as it should be typed."""
    positionals = [o for o in spec.options if o.positional]
    if len(positionals) < 2 or positionals[1].type != OptionType.DATETIME:
        return None
    title_option, when_option = positionals[0], positionals[1]
    first = next((t for t in tokens if not t.value.startswith("--")), None)
    when = raw.get(when_option.name)
    if first is None or first.quoted or not isinstance(when, str):
        return None
    words = when.split()
    for cut in range(1, len(words)):
        try:
            parse_when(" ".join(words[cut:]), ctx.zone, ctx.now)
        except TimeProblem:
            continue
        title = " ".join([raw[title_option.name], *words[:cut]])
        return _('If the {name} is "{title}", put it in double quotes: `/{path} "{title}" {join}`.').format(
            name=title_option.name, title=title, path=" ".join(path), join=" ".join(words[cut:])
        )
    return None


def _bind_tokens(spec: CommandSpec, tokens: list[Token], usage: str) -> dict[str, Any]:
    """Assign tokens to options: `--name value`, `--name=value`, flags, then positionals in order."""
    by_name = {o.name: o for o in spec.options}
    positionals = [o for o in spec.options if o.positional]
    raw: dict[str, Any] = {}
    loose: list[str] = []
    options_done = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not tok.quoted and not options_done and tok.value == "--":
            options_done = True
            continue
        if not tok.quoted and not options_done and tok.value.startswith("--") and len(tok.value) > 2:
            name, eq, inline = tok.value[2:].partition("=")
            name = name.lower()
            negated = name.startswith("no-") and name[3:] in by_name and converter(by_name[name[3:]]).flag
            option = by_name.get(name[3:] if negated else name)
            if option is None:
                renamed = next((o.name for o in by_name.values() if o.formerly == name), None)
                hint = (
                    _(" Did you mean '--{renamed}'?").format(renamed=renamed)
                    if renamed
                    else suggestion(name, list(by_name), prefix="--")
                )
                raise UsageError(
                    _("There is no option '--{name}' for this command.{hint}").format(name=name, hint=hint), usage
                )
            if option.name in raw:
                raise UsageError(_("The option --{name} is given twice.").format(name=option.name), usage)
            if converter(option).flag and not eq:
                raw[option.name] = not negated
                continue
            if eq:
                raw[option.name] = inline
            elif i < len(tokens):
                raw[option.name] = tokens[i].value
                i += 1
            else:
                raise UsageError(
                    _("The option --{name} needs a value ({metavar}).").format(
                        name=option.name, metavar=option.metavar
                    ),
                    usage,
                )
            continue
        loose.append(tok.value)
    for option in positionals:
        if option.name in raw or not loose:
            continue
        if option.multiple:
            raw[option.name] = loose
            loose = []
        elif converter(option).takes_rest and option is positionals[-1]:
            # The last free-text value may be typed without quotes: `/coalition feedback the lights`.
            raw[option.name] = " ".join(loose)
            loose = []
        else:
            raw[option.name] = loose.pop(0)
    if loose:
        extra = " ".join(loose)
        raise UsageError(
            _('I didn\'t expect {item} here. Put text with spaces in "double quotes".').format(item=repr(extra[:60])),
            usage,
        )
    return raw


def coerce_args(
    spec: CommandSpec,
    raw: dict[str, Any],
    ctx: ParseContext,
    usage: str,
    *,
    platform: Platform = NO_PLATFORM,
) -> dict[str, Any]:
    """Check and convert every option's value (commands.converters); fill defaults; report the
    first problem clearly."""
    reading = Reading(ctx.zone, ctx.now, platform, ctx.notes)
    args: dict[str, Any] = {}
    for option in spec.options:
        if option.name not in raw or raw[option.name] in (None, [], ""):
            if option.required:
                raise UsageError(
                    _("{metavar} is missing: {help}").format(metavar=option.metavar, help=_(option.help)), usage
                )
            args[option.name] = option.default
            continue
        value = raw[option.name]
        try:
            if option.multiple:
                values = value if isinstance(value, list) else [value]
                if len(values) < option.min_count:
                    raise UsageError(
                        _("Give at least {min_count} {metavar} values (got {values}).").format(
                            min_count=option.min_count, metavar=option.metavar, values=len(values)
                        ),
                        usage,
                    )
                if option.max_count is not None and len(values) > option.max_count:
                    raise UsageError(
                        _("Give at most {max_count} {metavar} values (got {values}).").format(
                            max_count=option.max_count, metavar=option.metavar, values=len(values)
                        ),
                        usage,
                    )
                args[option.name] = [convert(option, v, reading) for v in values]
            else:
                args[option.name] = convert(option, value, reading)
        except (TextProblem, TimeProblem) as exc:
            raise UsageError(f"{option.metavar}: {exc}", usage) from exc
    return args
