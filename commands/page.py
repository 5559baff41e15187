"""`/coalition page`: the coalition's public web page, turned on and off by coordinators."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.permissions import Permission
from bot.replies import Reply, error
from commands.context import CommandContext
from commands.spec import CommandSpec, OptionSpec, Scope


def _address(ctx: CommandContext, slug: str) -> str | None:
    return ctx.services.public_url(f"/c/{slug}/")


async def page(ctx: CommandContext) -> Reply:
    state = ctx.args["state"]
    coalition = ctx.coalition
    if state in ("on", "off") and ctx.services.public_base is None:
        return error(
            _(
                "The public page needs the bot's web server, which is not running: whoever runs the bot sets "
                'HTTP_PORT, and PUBLIC_BASE_URL to the address the public reaches it at (README, "Public page").'
            ),
            ctx.usage,
        )
    if state == "on":
        slug = await ctx.services.pages.turn_on(coalition)
        ctx.audit_note = _("public page on: {path}").format(path=f"/c/{slug}/")
    elif state == "off":
        await ctx.services.pages.turn_off(coalition)
        ctx.audit_note = _("public page off")
        return Reply(
            _(
                "The public page is off: its address now says there is no page there. "
                "`/coalition page on` brings it back."
            )
        )
    if not coalition.page_on or coalition.page_slug is None:
        return Reply(
            _("The coalition has no public page. A coordinator can publish one with `/coalition page on`."),
            private=True,
        )
    address = _address(ctx, coalition.page_slug) or f"/c/{coalition.page_slug}/"
    return Reply(
        _(
            "The public page is on: {address}\nIt shows: meetings to come and their minutes (unless "
            "scheduled with `--private`), with action items as counts only; polls created with `--public` or "
            "marked with `/poll public` (results once they close, anonymous ones only from 3 voters); "
            "broadcasts sent with `--public`; how many members each sector has; and the engagement chart. "
            "It never shows a member's name."
        ).format(address=address),
        private=state == "show",
    )


PAGE = CommandSpec(
    name="page",
    description=N_("The coalition's public web page: on, off, or what it shows"),
    options=(OptionSpec.switch(),),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=page,
    examples=(N_("/coalition page on"), N_("/coalition page")),
)
