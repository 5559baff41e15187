"""`/coalition feedback`: the anonymous feedback box."""

from __future__ import annotations

from bot.i18n import N_, _
from bot.permissions import Permission
from bot.replies import Reply
from bot.services.feedback import LIMIT
from commands.context import CommandContext
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope

MAX_FEEDBACK = 1500


async def feedback(ctx: CommandContext) -> Reply:
    where = await ctx.services.feedback.send(ctx.coalition, ctx.me, ctx.args["text"])
    return Reply(
        _(
            "Thank you. Your feedback went to {where} without your name; the bot keeps no "
            "record of who sent it (you can send {LIMIT} a day). Only you saw the command "
            "and this answer: nobody in the channel can tell that you sent feedback."
        ).format(where=where, LIMIT=LIMIT),
        private=True,
    )


# Not audited and not rate-limited by the dispatcher: both would store the member's id beside the
# time of sending. The feedback service keeps its own count under a keyed hash instead.
FEEDBACK = CommandSpec(
    name="feedback",
    description=N_("Tell the coordinators something anonymously"),
    options=(
        OptionSpec(
            "text", OptionType.TEXT, N_("what you want to say"), required=True, positional=True, max_length=MAX_FEEDBACK
        ),
    ),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=feedback,
    audited=False,
    anonymous=True,
    modal=True,
    submit_label=N_("Send anonymously"),
    examples=(N_('/coalition feedback "The last forum started too late for parents with young children"'),),
)
