"""Form buttons (`bot.replies.form_button`) where the platform has no forms: Slack and Discord open
the command's form themselves; the console (and any platform without forms) gets the command to
type, its first part already filled in."""

from __future__ import annotations

from bot.i18n import _
from bot.permissions import Permission
from bot.replies import FORM, Reply, error
from commands.context import ActionContext
from commands.spec import ActionSpec, Scope


async def typed_instead(ctx: ActionContext) -> Reply:
    path = tuple(ctx.params["command"].split("."))
    if ctx.registry.find(path) is None:
        return error(_("That button no longer does anything; the message it belongs to is out of date."))
    usage = ctx.registry.usage_with(path, ctx.params["first"])
    return Reply(_("Type it here: `{usage}`").format(usage=usage), private=True)


FORM_ACTION = ActionSpec(
    FORM, typed_instead, Permission.MEMBER, scope=Scope.COALITION, params=("command", "first"), words=("command",)
)
