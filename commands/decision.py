"""`/decision`: propose, take a position (objections and blocks with their reason), amend, close,
and the register: outcome, owner, review."""

from __future__ import annotations

from bot.decisions import KINDS, LABELS, DecisionKind
from bot.i18n import N_, _
from bot.markup import timestamp, user_text
from bot.permissions import Permission
from bot.replies import Attachment, Reply, error
from bot.services.coalitions import TargetProblem
from bot.services.decisions import MAX_REASON, MAX_TEXT, STATES, DecisionProblem
from bot.spanish_words import meaning as spanish_meaning
from bot.views import ProposalView
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError
from commands.languages_content import second_given, second_language_options
from commands.numbered import id_option
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope

_ID = id_option(N_("the proposal's number (from /decision list)"))
ALL_POSITIONS = tuple(dict.fromkeys(p for kind in KINDS for p in kind.positions))


async def _find(ctx: CommandContext | ActionContext, proposal_id: int) -> ProposalView:
    proposal = await ctx.services.decisions.find(ctx.coalition.id or 0, proposal_id)
    if proposal is None:
        raise CommandError(_("There is no proposal #{id}. `/decision list` shows them.").format(id=proposal_id))
    return proposal


async def propose(ctx: CommandContext) -> Reply:
    assert ctx.channel is not None
    try:
        channels = await ctx.services.coalitions.targets(ctx.coalition, ctx.channel, ctx.args["also"] or [])
        given = second_given(ctx)
        proposal = await ctx.services.decisions.propose(
            ctx.coalition.id or 0,
            ctx.me,
            ctx.args["kind"] or DecisionKind.CONSENT,
            ctx.args["text"],
            rules=ctx.args["rule"] or "",
            channels=channels,
            closes_at=ctx.args["closes"],
            public=bool(ctx.args["public"]),
            anonymous=bool(ctx.args["anonymous"]),
            second=(given[0], str(given[1])) if given else None,
        )
    except (DecisionProblem, TargetProblem) as exc:
        return error(str(exc), ctx.usage)
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    ctx.audit_note = _("proposal #{id}").format(id=proposal.id)
    return Reply(
        _(
            "Proposal #{id} is posted; members take a position on its card or with `/decision position {id} POSITION`."
        ).format(id=proposal.id),
        private=True,
    )


async def _take(
    ctx: CommandContext | ActionContext, proposal: ProposalView, position: str, reason: str | None
) -> Reply:
    position = spanish_meaning(position, ALL_POSITIONS) or position.strip().lower()
    await ctx.services.decisions.take(proposal, ctx.me, position, reason)
    said = _("Recorded: **{position}** on proposal #{id}.").format(position=_(LABELS[position]), id=proposal.id)
    if proposal.anonymous:
        said += " " + _(
            "It is anonymous: nobody, coordinators included, can see who took which position; a reason is "
            "shown without your name."
        )
    elif reason:
        said += " " + _("Your reason is shown on the card with your name.")
    return Reply(said + " " + _("You can change it until it closes."), private=True)


async def position(ctx: CommandContext) -> Reply:
    proposal = await _find(ctx, ctx.args["id"])
    try:
        return await _take(ctx, proposal, ctx.args["position"], ctx.args["reason"])
    except DecisionProblem as exc:
        return error(str(exc), ctx.usage)


async def take_button(ctx: ActionContext) -> Reply:
    proposal = await _find(ctx, int(ctx.params["proposal"]))
    try:
        return await _take(ctx, proposal, ctx.params["position"], None)
    except DecisionProblem as exc:
        return error(str(exc))


async def card_view(ctx: ActionContext) -> Reply:
    """The card as it stands now, for a member who cannot see it change (an email)."""
    proposal = await _find(ctx, int(ctx.params["proposal"]))
    return await ctx.services.decisions.card_now(proposal)


async def withdraw(ctx: CommandContext) -> Reply:
    proposal = await _find(ctx, ctx.args["id"])
    try:
        taken = await ctx.services.decisions.withdraw(proposal, ctx.me)
    except DecisionProblem as exc:
        return error(str(exc), ctx.usage)
    if not taken:
        return error(_("You have taken no position on proposal #{id}.").format(id=proposal.id))
    return Reply(_("Your position on proposal #{id} is withdrawn.").format(id=proposal.id), private=True)


async def amend(ctx: CommandContext) -> Reply:
    proposal = await _find(ctx, ctx.args["id"])
    ctx.require_creator(proposal.created_by, _("amend proposal #{id}").format(id=proposal.id))
    try:
        told = await ctx.services.decisions.amend(proposal, ctx.args["text"])
    except DecisionProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("proposal #{id}, version {version}").format(id=proposal.id, version=proposal.version)
    return Reply(
        _("Proposal #{id} is now version {version}; positions start again ({told} told privately).").format(
            id=proposal.id, version=proposal.version, told=told
        ),
        private=True,
    )


async def close(ctx: CommandContext) -> Reply:
    proposal = await _find(ctx, ctx.args["id"])
    ctx.require_creator(proposal.created_by, _("close proposal #{id}").format(id=proposal.id))
    if await ctx.services.decisions.close(proposal) is None:
        return error(_("Proposal #{id} is already closed.").format(id=proposal.id))
    ctx.audit_note = _("proposal #{id}").format(id=proposal.id)
    return Reply(
        _("Proposal #{id} is closed; the result is being posted where it was asked.").format(id=proposal.id),
        private=True,
    )


async def outcome(ctx: CommandContext) -> Reply:
    proposal = await _find(ctx, ctx.args["id"])
    ctx.require_creator(proposal.created_by, _("record the outcome of proposal #{id}").format(id=proposal.id))
    owner = None
    if ctx.args["owner"] is not None:
        owner = await ctx.services.coalitions.member_by_mention(ctx.coalition, ctx.actor, ctx.args["owner"].user_id)
        if owner is None:
            return error(
                _("{name} has not used the bot yet, so is not a member.").format(
                    name=user_text(ctx.args["owner"].label)
                )
            )
    try:
        await ctx.services.decisions.record_outcome(proposal, ctx.args["statement"], owner, ctx.args["review"])
    except DecisionProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("proposal #{id}: outcome recorded").format(id=proposal.id)
    said = _("Recorded for proposal #{id}: {statement}").format(
        id=proposal.id, statement=user_text(proposal.outcome or "")
    )
    if owner is not None:
        said += " " + _("Owner: {name}.").format(name=user_text(owner.display_name or owner.user_id))
    if proposal.review_at is not None:
        said += " " + _("Review: {when}.").format(when=timestamp(proposal.review_at, "D"))
    return Reply(said, private=True)


async def show(ctx: CommandContext) -> Reply:
    proposal = await _find(ctx, ctx.args["id"])
    card = await ctx.services.decisions.card_now(proposal)
    lines = [card.text]
    if proposal.outcome:
        lines.append(_("Decided: {statement}").format(statement=user_text(proposal.outcome)))
    owner = await ctx.services.decisions.owner_of(proposal)
    if owner is not None:
        lines.append(_("Owner: {name}.").format(name=user_text(owner.display_name or owner.user_id)))
    if proposal.review_at:
        lines.append(_("Review: {when}.").format(when=timestamp(proposal.review_at, "D")))
    actions = await ctx.services.decisions.actions(proposal)
    if actions:
        lines.append(_("Carried out by:"))
        for item, owner_of_item in actions:
            state = _("done") if item.done_at else _("due {when}").format(when=timestamp(item.due_at, "f"))
            name = user_text(owner_of_item.display_name or owner_of_item.user_id) if owner_of_item else _("unassigned")
            lines.append(f"• #{item.id} {user_text(item.text)}, {name}: {state}")
    earlier = await ctx.services.decisions.versions(proposal)
    if earlier:
        lines.append(_("Earlier versions:"))
        lines += [f"• v{v.version}: {user_text(v.text)}" for v in earlier]
    return Reply("\n".join(lines), blocks=card.blocks if proposal.status == "open" else (), private=True)


async def list_proposals(ctx: CommandContext) -> Reply:
    found = await ctx.services.decisions.listed(ctx.coalition.id or 0, ctx.args["which"])
    if not found:
        return Reply(_('No proposals here yet. Start one with `/decision propose "TEXT"`.'), private=True)
    lines = [_("**Decisions**")]
    for proposal in found:
        text = proposal.text if len(proposal.text) <= 80 else proposal.text[:77] + "..."
        line = f"• #{proposal.id} {user_text(text)} ({_(STATES[proposal.status])})"
        if proposal.review_at:
            line += " " + _("review {when}").format(when=timestamp(proposal.review_at, "D"))
        lines.append(line)
    return Reply("\n".join(lines), private=True)


async def export(ctx: CommandContext) -> Reply:
    """The register as CSV, one row per decision (coordinators: it names owners)."""
    proposals = await ctx.services.decisions.listed(ctx.coalition.id or 0, None)
    owners = {}
    for proposal in proposals:
        owner = await ctx.services.decisions.owner_of(proposal)
        if owner is not None and owner.id is not None:
            owners[owner.id] = owner.display_name or owner.user_id
    content = ctx.services.decisions.export_csv(proposals, owners)
    ctx.audit_note = _("{count} decisions exported").format(count=len(proposals))
    return Reply(
        _("The register of decisions as CSV, one row per decision ({count}).").format(count=len(proposals)),
        private=True,
        attachments=(Attachment("coalition-decisions.csv", content, "text/csv"),),
    )


async def review(ctx: CommandContext) -> Reply:
    """Reopen a decision as a new proposal linked to it."""
    proposal = await _find(ctx, ctx.args["id"])
    ctx.require_creator(proposal.created_by, _("review proposal #{id}").format(id=proposal.id))
    if proposal.status == "open":
        return error(_("Proposal #{id} is still open.").format(id=proposal.id))
    assert ctx.channel is not None
    try:
        channels = await ctx.services.coalitions.targets(ctx.coalition, ctx.channel, [])
        again = await ctx.services.decisions.propose(
            ctx.coalition.id or 0,
            ctx.me,
            proposal.kind,
            proposal.outcome or proposal.text,
            rules=proposal.rules,
            channels=channels,
            closes_at=None,
            reviews=proposal,
        )
    except (DecisionProblem, TargetProblem) as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("proposal #{id} reviewed as #{again}").format(id=proposal.id, again=again.id)
    return Reply(
        _("Proposal #{again} reopens decision #{id} for review.").format(again=again.id, id=proposal.id), private=True
    )


DECISION = CommandSpec(
    name="decision",
    description=N_("Decide together: consent, consensus or advice, with rules that respect every sector"),
    subcommands=(
        CommandSpec(
            name="propose",
            description=N_("Put a proposal to the coalition, decided by consent, consensus or advice"),
            options=(
                OptionSpec(
                    "text", OptionType.TEXT, N_("the proposal"), required=True, positional=True, max_length=MAX_TEXT
                ),
                OptionSpec("kind", OptionType.CHOICE, N_("consent (default), consensus or advice"), choices=KINDS),
                OptionSpec("closes", OptionType.DATETIME, N_("close automatically at this time")),
                OptionSpec("also", OptionType.TAGS, N_("post here and also in channels with these tags (or: all)")),
                OptionSpec(
                    "rule",
                    OptionType.STRING,
                    N_('rules, in quotes: "every-sector one-per-organisation quorum 40% sector-quorum 2"'),
                    max_length=200,
                ),
                OptionSpec(
                    "public",
                    OptionType.BOOL,
                    N_("show it on the coalition's public page once decided (counts per sector, no names)"),
                    default=False,
                    coordinators_only=True,
                ),
                OptionSpec(
                    "anonymous",
                    OptionType.BOOL,
                    N_("anonymous: nobody can see who took which position; reasons are shown without names"),
                    default=False,
                ),
                *second_language_options(max_length=MAX_TEXT),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.CHANNEL,
            handler=propose,
            audited=True,
            examples=(
                N_('/decision propose "Hold the youth forum at the library" --kind consent'),
                N_(
                    '/decision propose "Adopt the 2027 safety plan" --kind consensus --rule "every-sector quorum 40%" '
                    '--closes "friday 5pm"'
                ),
            ),
        ),
        CommandSpec(
            name="position",
            description=N_("Take a position on a proposal; an objection or a block needs its reason"),
            options=(
                _ID,
                OptionSpec(
                    "position",
                    OptionType.STRING,
                    N_("consent, concern or object (consensus: agree, abstain, disagree, block)"),
                    required=True,
                    positional=True,
                ),
                OptionSpec(
                    "reason",
                    OptionType.TEXT,
                    N_("why (needed to object or block)"),
                    positional=True,
                    max_length=MAX_REASON,
                ),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=position,
            anonymous=True,  # the proposal may be anonymous: the logs never say who took a position
            examples=(N_('/decision position 3 object "The library closes at 6"'),),
        ),
        CommandSpec(
            name="withdraw",
            description=N_("Withdraw your position on a proposal"),
            options=(_ID,),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=withdraw,
            anonymous=True,
        ),
        CommandSpec(
            name="amend",
            description=N_("A new version of a proposal: positions start again, and those who took one are told"),
            options=(
                _ID,
                OptionSpec(
                    "text", OptionType.TEXT, N_("the new text"), required=True, positional=True, max_length=MAX_TEXT
                ),
            ),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=amend,
            audited=True,
        ),
        CommandSpec(
            name="close",
            description=N_("Close a proposal now and post the result (who proposed it, coordinators)"),
            options=(_ID,),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=close,
            audited=True,
        ),
        CommandSpec(
            name="outcome",
            description=N_("Record what was decided, who owns it and when it comes back for review"),
            options=(
                _ID,
                OptionSpec(
                    "statement",
                    OptionType.TEXT,
                    N_("what was decided"),
                    required=True,
                    positional=True,
                    max_length=MAX_TEXT,
                ),
                OptionSpec("owner", OptionType.USER, N_("who owns it")),
                OptionSpec("review", OptionType.DATETIME, N_("when it comes back for review")),
            ),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=outcome,
            audited=True,
            examples=(
                N_('/decision outcome 3 "The youth forum moves to the library" --owner @maria --review "in 6 months"'),
            ),
        ),
        CommandSpec(
            name="show",
            description=N_("A proposal with its positions, reasons, outcome and earlier versions"),
            options=(_ID,),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=show,
        ),
        CommandSpec(
            name="list",
            description=N_("Proposals and decisions: open, passed, failed or due for review"),
            options=(
                OptionSpec(
                    "which",
                    OptionType.CHOICE,
                    N_("open, passed, failed or review-due"),
                    positional=True,
                    choices=("open", "passed", "failed", "review-due"),
                ),
            ),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=list_proposals,
        ),
        CommandSpec(
            name="export",
            description=N_("The register of decisions as CSV, one row per decision"),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=export,
            audited=True,
        ),
        CommandSpec(
            name="review",
            description=N_("Reopen a decision as a new proposal linked to it"),
            options=(_ID,),
            permission=Permission.CREATOR,
            scope=Scope.CHANNEL,
            handler=review,
            audited=True,
        ),
    ),
)

ACTIONS = (
    ActionSpec(
        "decision:take",
        take_button,
        Permission.PARTICIPANT,
        params=("proposal", "position"),
        words=("position",),
        anonymous=True,
    ),
    ActionSpec("decision:card", card_view, Permission.MEMBER, params=("proposal",), read_only=True),
)
