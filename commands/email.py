"""`/coalition email add|list|remove` (coordinators), and the confirm and leave buttons that a
member on email presses through the links of their mail."""

from __future__ import annotations

from bot.i18n import LANGUAGES, N_, _, parse_language
from bot.markup import user_text
from bot.permissions import Permission
from bot.replies import Reply, error
from bot.sectors import typed_sector
from bot.services.email import STATES, EmailProblem
from commands.context import ActionContext, CommandContext
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope

STATE_NAMES = {
    "waiting": N_("waiting for confirmation"),
    "active": N_("active"),
    "paused": N_("paused after failed deliveries"),
    "left": N_("left"),
}


async def email(ctx: CommandContext) -> Reply:
    try:
        return await _email(ctx)
    except EmailProblem as problem:  # a wrong address: said with the right way to write it
        return error(str(problem), ctx.usage)


async def _email(ctx: CommandContext) -> Reply:
    action, address = ctx.args["action"], ctx.args.get("address")
    if action == "list":
        return await _list(ctx)
    if not address:
        return error(_("Give the address, e.g. name@example.org."), ctx.usage)
    if action == "remove":
        await ctx.services.email.remove(ctx.coalition, address)
        ctx.audit_note = _("an email address removed")
        return Reply(_("That address gets no more mail from the coalition."), private=True)
    language = ctx.args.get("language")
    chosen = parse_language(language) if language else None
    if language and chosen is None:
        return error(
            _("'{language}' is not a language I speak; choose one of: {choices}.").format(
                language=user_text(language), choices=", ".join(LANGUAGES)
            ),
            ctx.usage,
        )
    sector = typed_sector(ctx.args["sector"]) if ctx.args.get("sector") else None
    if sector and sector not in ctx.coalition.sectors:
        return error(
            _("'{sector}' is not one of the coalition's sectors: {sectors}.").format(
                sector=user_text(sector), sectors=", ".join(ctx.coalition.sectors)
            ),
            ctx.usage,
        )
    _member, asked = await ctx.services.email.add(
        ctx.coalition, address, name=ctx.args.get("name"), sector=sector, language=chosen
    )
    ctx.audit_note = _("an email address added")
    if not asked:
        return Reply(_("That address already gets the coalition's mail."), private=True)
    return Reply(
        _(
            "A confirmation email is on its way. The address takes part once its owner confirms; until then "
            "it gets nothing else."
        ),
        private=True,
    )


async def _list(ctx: CommandContext) -> Reply:
    rows = await ctx.services.email.listed(ctx.coalition)
    if not rows:
        return Reply(_("No member takes part by email yet. Add one with `/coalition email add ADDRESS`."), private=True)
    lines = [_("**Members on email** (only coordinators see this list):")]
    for row, member in rows:
        state = _(STATE_NAMES[STATES[row.state]])
        lines.append(
            f"• {user_text(row.address)} ({user_text(member.display_name)}): {state}"
            + (f" ({user_text(row.last_error[:100])})" if row.state == "paused" and row.last_error else "")
        )
    return Reply("\n".join(lines), private=True)


async def confirm(ctx: ActionContext) -> Reply:
    if await ctx.services.email.confirm(ctx.me):
        return Reply(
            _("Thank you: you will now get {coalition}'s emails. Every one of them has a link to leave.").format(
                coalition=user_text(ctx.coalition.name)
            ),
            private=True,
        )
    return Reply(_("You confirmed already: you get the coalition's emails."), private=True)


async def leave(ctx: ActionContext) -> Reply:
    await ctx.services.email.leave(ctx.me)
    return Reply(
        _("You will get no more emails from {coalition}.").format(coalition=user_text(ctx.coalition.name)),
        private=True,
    )


EMAIL = CommandSpec(
    name="email",
    description=N_("Members who take part by email: add an address (they confirm first), list them, remove one"),
    options=(
        OptionSpec(
            "action",
            OptionType.CHOICE,
            N_("add, list or remove"),
            required=True,
            positional=True,
            choices=("add", "list", "remove"),
        ),
        OptionSpec("address", OptionType.STRING, N_("the email address"), positional=True, max_length=254),
        OptionSpec("name", OptionType.STRING, N_("the name the coalition knows them by"), max_length=80),
        OptionSpec("sector", OptionType.STRING, N_("their sector, e.g. resident"), max_length=40),
        OptionSpec("language", OptionType.STRING, N_("the language of their emails: en or es"), max_length=20),
    ),
    permission=Permission.COORDINATOR,
    scope=Scope.COALITION,
    handler=email,
    examples=(
        N_('/coalition email add ana@example.org --name "Ana Ruiz" --sector resident --language es'),
        N_("/coalition email list"),
        N_("/coalition email remove ana@example.org"),
    ),
)

ACTIONS = (
    ActionSpec("subscription:confirm", confirm, Permission.MEMBER),
    ActionSpec("subscription:leave", leave, Permission.MEMBER),
)
