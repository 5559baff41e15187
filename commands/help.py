"""`/coalition help`, generated from the registry so it can never disagree with the parser."""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import _, ngettext
from bot.permissions import Permission, who
from bot.replies import Actions, Block, Button, Context, Divider, Reply, Section, action_id, error
from bot.services.meetings import REMINDER_GRACE
from bot.times import DURATION_EXAMPLES
from commands.context import ActionContext, CommandContext
from commands.converters import converter
from commands.registry import Registry
from commands.spec import CommandSpec, OptionSpec, OptionType

# The placeholders a command's notes may hold, filled after their translation.
GRACE_HOURS = int(REMINDER_GRACE.total_seconds() // 3600)


def overview(registry: Registry) -> Reply:
    lines = [_("**coalition-bot**: meetings, polls and broadcasts for the whole coalition."), ""]
    for spec in registry.commands():
        lines.append(f"**/{spec.name}**: {_(spec.description)}")
        if spec.subcommands:  # each one's description is a button (or `/coalition help COMMAND`) away
            lines.append("  " + " · ".join(f"`/{spec.name} {sub.name}`" for sub in spec.subcommands))
    lines.append("")
    lines.append(_("Details: `/coalition help COMMAND`, e.g. `/coalition help coalition link`."))
    buttons = tuple(
        Button(_("Help: {command}").format(command="/" + spec.name), action_id("help", "show", spec.name))
        for spec in registry.commands()
    )
    blocks: list[Block] = [Section("\n".join(lines[:-2])), Divider(), Context(lines[-1])]
    for start in range(0, len(buttons), 5):  # rows of five, as Discord lays buttons out
        blocks.append(Actions(buttons[start : start + 5]))
    return Reply(text="\n".join(lines), blocks=tuple(blocks), private=True)


def detail(registry: Registry, path: tuple[str, ...]) -> Reply:
    spec = registry.find(path)
    if spec is None:
        known = ", ".join("/" + " ".join(p) for p, _ in registry.leaves())
        return error(
            _("There is no command '{command}'. Commands: {known}.").format(command="/" + " ".join(path), known=known),
            "/coalition help [COMMAND]",
        )
    lines = [f"**/{' '.join(path)}**: {_(spec.description)}"]
    if spec.is_group:
        lines.append("")
        lines.extend(f"• `/{' '.join(path)} {s.name}`: {_(s.description)}" for s in spec.subcommands)
    else:
        lines += ["", _("Usage: {usage}").format(usage=f"`{registry.usage(path)}`")]
        if spec.options:
            lines.append("")
            lines.extend(_describe_option(o) for o in spec.options)
        if spec.examples:
            lines.append("")
            lines.append(_("Examples:"))
            lines.extend(f"  `{_(e)}`" for e in spec.examples)  # in the reader's words: Spanish examples in Spanish
        if spec.notes:
            lines.append("")
            lines.extend(_(note).format(hours=GRACE_HOURS) for note in spec.notes)
        lines.append("")
        lines.append(_("Who can use it: {who}.").format(who=_who(spec)))
    return Reply(text="\n".join(lines), blocks=(Section("\n".join(lines)),), private=True)


def _describe_option(option: OptionSpec) -> str:
    name = option.metavar if option.positional else f"--{option.name}"
    notes = []
    if option.choices:
        notes.append(_("one of {choices}").format(choices=", ".join(option.choices)))
    if described := converter(option).described:
        notes.append(_(described).format(examples=DURATION_EXAMPLES))
    if option.type in (OptionType.STRING, OptionType.TEXT):
        notes.append(
            ngettext("at most {count} character", "at most {count} characters", option.length_limit).format(
                count=option.length_limit
            )
        )
    if not option.required:
        notes.append(_("optional"))
    return f"• `{name}`: {_(option.help)}" + (f" ({'; '.join(notes)})" if notes else "")


def _who(spec: CommandSpec) -> str:
    """From the same declaration the dispatcher checks: the command's permission, and the options
    (or values of them) kept for coordinators."""
    said = who(spec.permission)
    kept = [f"--{o.name}" for o in spec.options if o.coordinators_only]
    kept += [f"`{v}`" for o in spec.options for v in o.coordinator_values]
    if kept and spec.permission != Permission.COORDINATOR:
        said += "; " + _("only coordinators: {options}").format(options=", ".join(kept))
    return said


async def help_command(ctx: CommandContext) -> Reply:
    words = [w.lstrip("/").lower() for w in (ctx.args.get("topic") or [])]
    if not words:
        return overview(ctx.registry)
    return detail(ctx.registry, tuple(words))


async def help_button(ctx: ActionContext) -> Reply:
    """Help navigates in place: the overview message becomes the command's detail."""
    shown = detail(ctx.registry, (ctx.params["command"],))
    return replace(shown, replace_original=not shown.error)
