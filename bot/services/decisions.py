"""Decisions (`/decision`): proposals decided by consent, consensus or advice under rules that
respect every sector (`bot.decisions`), and the register of what was decided, by whom it is owned
and when it comes back for review.

A proposal's card shows, all along, what would happen if it closed now; at close the result is
written once (overall and per sector, and which rule decided it, in words) and posted where the
proposal was asked.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.bilingual import set_second, shown_language, the_other, version
from bot.clock import Clock
from bot.decisions import KINDS, LABELS, Outcome, RuleProblem, Rules, Stance, decide, parse_rules
from bot.i18n import LANGUAGES, N_, _, language, ngettext, speaking
from bot.markup import timestamp, user_text
from bot.permissions import Role
from bot.problems import Problem
from bot.replies import Actions, Button, Context, Reply, Section, action_id
from bot.sealing import PollKeys, new_keys, unwrap, wrap
from bot.sectors import sector_name
from bot.services.outbox import Outbox
from bot.spreadsheets import cell, table
from bot.suppression import STEP, shown_groups
from bot.views import ActionItemView, ChannelView, MemberView, ProposalView
from storage import Repositories
from storage.kinds import DecisionKind, PositionChoice
from storage.models import Channel, Member, Position, Proposal, ProposalVersion

SOURCE = "decision"
REVIEW_NOTICE = timedelta(days=7)
MAX_TEXT = 1500
MAX_REASON = 500
# A sealed position (position, sector, organisation, reason) is padded to this size, so that its
# length says nothing of whether a reason was given, nor how long it is.
POSITION_PAD = 4096
STATES = {
    "open": N_("open"),
    "passed": N_("passed"),
    "failed": N_("did not pass"),
    "decided": N_("decided by the proposer"),
}
KIND_WORDS = {
    "consent": N_("consent: it passes when no objection stands"),
    "consensus": N_("consensus: it passes when no block stands and agreement reaches {share}"),
    "advice": N_("advice: the proposer decides, having heard everyone"),
}


class DecisionProblem(Problem):
    """The proposal or position cannot be taken; the message says why."""


@dataclass(frozen=True)
class View:
    """What members may see of a proposal's positions (`DecisionService.view`)."""

    outcome: Outcome | None  # None: an anonymous proposal whose figures may not be shown (yet)
    reasons: list[tuple[str, str, str]]  # (who, or "" when anonymous; position; reason)
    passed: bool | None = None


def rules_of(proposal: Proposal) -> Rules:
    return parse_rules([proposal.rules]) if proposal.rules else Rules()


def _sealed_stance(stance: Stance) -> str:
    return json.dumps(
        {"p": stance.position, "s": stance.sector, "o": stance.organisation, "r": stance.reason},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _opened_stance(who: str, opened: str) -> Stance:
    data = json.loads(opened)
    return Stance(who, data["p"], data.get("s"), data.get("o"), data.get("r"))


class DecisionService:
    def __init__(self, repos: Repositories, outbox: Outbox, clock: Clock, secret: str) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock
        self.secret = secret
        self._keys: dict[int, PollKeys | None] = {}  # unwrapped once per transaction

    # Proposing --------------------------------------------------------------------------

    async def propose(
        self,
        coalition_id: int,
        author: MemberView,
        kind: str,
        text: str,
        *,
        rules: str,
        channels: Sequence[ChannelView],
        closes_at: datetime | None,
        public: bool = False,
        anonymous: bool = False,
        second: tuple[str, str] | None = None,
        reviews: ProposalView | None = None,
    ) -> ProposalView:
        if kind not in KINDS:
            raise DecisionProblem(
                _("'{kind}' is not a kind of decision: use consent, consensus or advice.").format(kind=kind)
            )
        try:
            parse_rules([rules])
        except RuleProblem as exc:
            raise DecisionProblem(str(exc)) from exc
        if closes_at is not None and closes_at <= self.clock.now():
            raise DecisionProblem(_('The closing time is in the past; give a time still to come, like "friday 5pm".'))
        proposal = Proposal(
            coalition_id=coalition_id,
            kind=DecisionKind(kind),
            text=text,
            rules=" ".join(rules.split()),
            channel_ids=[c.id for c in channels if c.id is not None],
            created_by=author.id,
            created_at=self.clock.now(),
            closes_at=closes_at,
            public=public,
            anonymous=anonymous,
            language=language(),
            reviews_id=reviews.id if reviews is not None else None,
        )
        if second is not None:
            set_second(proposal, second[0], {"text": second[1]})
        proposal = await self.repos.decisions.add(proposal)
        if anonymous:
            assert proposal.id is not None
            keys = new_keys()
            await self.repos.decisions.add_keys(proposal.id, wrap(keys, self.secret, f"proposal:{proposal.id}"))
            self._keys[proposal.id] = keys
        await self._post(proposal, channels, lambda: self.card_now(proposal), "post")
        return proposal

    async def find(self, coalition_id: int, proposal_id: int) -> ProposalView | None:
        return await self.repos.decisions.get(coalition_id, proposal_id)

    async def public(self, coalition_id: int, limit: int = 10) -> list[Proposal]:
        """Closed decisions made public (`--public`), newest first: for the public page."""
        closed = await self.repos.decisions.listed(coalition_id, ("passed", "failed", "decided"), limit=50)
        return [p for p in closed if p.public][:limit]

    async def owner_of(self, proposal: ProposalView) -> MemberView | None:
        return await self.repos.members.by_id(proposal.owner_id) if proposal.owner_id else None

    async def actions(self, proposal: ProposalView) -> Sequence[tuple[ActionItemView, MemberView | None]]:
        """The action items that carry the decision out (`/meeting action ... --decision ID`)."""
        return await self.repos.decisions.actions(proposal.id or 0)

    async def versions(self, proposal: ProposalView) -> list[ProposalVersion]:
        """The texts an amendment replaced, oldest first."""
        return await self.repos.decisions.versions(proposal.id or 0)

    async def listed(self, coalition_id: int, which: str | None) -> Sequence[ProposalView]:
        if which == "review-due":
            due = await self.repos.decisions.review_due(coalition_id, self.clock.now())
            return sorted(due, key=lambda p: p.review_at or self.clock.now())
        statuses = {"open": ("open",), "passed": ("passed", "decided"), "failed": ("failed",)}.get(which or "")
        return await self.repos.decisions.listed(coalition_id, statuses)

    # Positions --------------------------------------------------------------------------

    async def take(self, proposal: ProposalView, member: MemberView, position: str, reason: str | None) -> None:
        """A member's position (one each, changed until the close). An objection or a block
        needs its reason; an observer reads along."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert isinstance(proposal, Proposal)  # a view this service handed out: its row
        self._check_open(proposal)
        if member.role == Role.OBSERVER:
            raise DecisionProblem(_("You are an observer: you can read along but not take a position."))
        allowed = proposal.kind.positions
        if position not in allowed:
            raise DecisionProblem(
                _("'{position}' is not a position on this proposal: use {allowed}.").format(
                    position=position, allowed=", ".join(allowed)
                )
            )
        choice = PositionChoice(position)
        if choice == proposal.kind.stopping and not (reason or "").strip():
            needs = (
                _('An objection needs a reason, so everyone can answer it: /decision position {id} object "REASON".')
                if choice is PositionChoice.OBJECT
                else _('A block needs a reason, so everyone can answer it: /decision position {id} block "REASON".')
            )
            raise DecisionProblem(needs.format(id=proposal.id))
        assert proposal.id is not None and member.id is not None
        reason = (reason or "").strip()[:MAX_REASON] or None
        keys = await self._keys_of(proposal)
        if keys is not None:
            stance = Stance("", position, member.sector, member.organisation, reason)
            sealed = keys.seal(_sealed_stance(stance), POSITION_PAD)
            await self.repos.decisions.put_sealed(proposal.id, self._voter(keys, member), sealed)
            self.outbox.once_before_commit(f"decision-cards:{proposal.id}", lambda: self._step(proposal))
            return
        found = await self.repos.decisions.position_of(proposal.id, member.id)
        row = found or Position(
            proposal_id=proposal.id,
            member_id=member.id,
            version=proposal.version,
            position=choice,
            taken_at=self.clock.now(),
        )
        row.position, row.reason, row.version, row.taken_at = (
            choice,
            reason,
            proposal.version,
            self.clock.now(),
        )
        await self.repos.decisions.take(row)
        self.outbox.once_before_commit(f"decision-cards:{proposal.id}", lambda: self.refresh_cards(proposal))

    async def withdraw(self, proposal: ProposalView, member: MemberView) -> bool:
        """Take one's position back (an objection its author no longer holds)."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert isinstance(proposal, Proposal)  # a view this service handed out: its row
        self._check_open(proposal)
        keys = await self._keys_of(proposal)
        if keys is not None:
            if not await self.repos.decisions.drop_sealed(proposal.id or 0, self._voter(keys, member)):
                return False
            self.outbox.once_before_commit(f"decision-cards:{proposal.id}", lambda: self._step(proposal))
            return True
        found = await self.repos.decisions.position_of(proposal.id or 0, member.id or 0)
        if found is None:
            return False
        await self.repos.decisions.withdraw(found)
        self.outbox.once_before_commit(f"decision-cards:{proposal.id}", lambda: self.refresh_cards(proposal))
        return True

    async def amend(self, proposal: ProposalView, text: str) -> int:
        """A new version: the old text stays readable, every position is cleared, and each member
        who had taken one is told privately. Returns how many were told."""
        assert isinstance(proposal, Proposal)  # a view this service handed out: its row
        self._check_open(proposal)
        assert proposal.id is not None
        await self.repos.decisions.add_version(
            ProposalVersion(
                proposal_id=proposal.id, version=proposal.version, text=proposal.text, replaced_at=self.clock.now()
            )
        )
        proposal.text, proposal.version, proposal.second = text, proposal.version + 1, None
        if proposal.anonymous:
            # Nobody can tell whose the sealed positions were: every member is told, so that being
            # told says nothing of having taken part.
            proposal.shown = None
            await self.repos.decisions.reset_sealed(proposal.id)
            members = await self.repos.broadcasts.members(proposal.coalition_id)
            told = [m.id for m in members if m.role != Role.OBSERVER and m.id is not None]
        else:
            told = await self.repos.decisions.reset(proposal.id)
        await self.repos.decisions.save(proposal)
        for member_id in told:
            member = await self.repos.members.by_id(member_id)
            if member is None:
                continue

            def said() -> Reply:
                text = (
                    _(
                        "Proposal #{id} was amended (version {version}); any position taken on it was cleared. "
                        "Read it again and take a position on the new text: {text}"
                    )
                    if proposal.anonymous
                    else _(
                        "Proposal #{id} was amended (version {version}); your position was cleared. Read it again "
                        "and take a position on the new text: {text}"
                    )
                )
                return Reply(
                    text.format(id=proposal.id, version=proposal.version, text=user_text(proposal.text)), private=True
                )

            await self.outbox.to(
                member,
                said,
                key=self._key(proposal, f"amended:{proposal.version}:{member_id}"),
                source=SOURCE,
                source_id=proposal.id,
            )
        self.outbox.once_before_commit(f"decision-cards:{proposal.id}", lambda: self.refresh_cards(proposal))
        return len(told)

    def _check_open(self, proposal: Proposal) -> None:
        if proposal.status != "open":
            raise DecisionProblem(_("Proposal #{id} is closed.").format(id=proposal.id))

    # Counting -----------------------------------------------------------------------------

    async def stances(self, proposal: Proposal) -> list[tuple[Stance, Member | None]]:
        """The positions on the current version. An anonymous proposal's are opened from their
        seals, with no member (and none at all once closed: they were deleted with the keys)."""
        keys = await self._keys_of(proposal)
        if keys is not None:
            sealed = await self.repos.decisions.sealed_positions(proposal.id or 0)
            return [(_opened_stance(who, keys.open(value)), None) for who, value in sealed]
        if proposal.anonymous:
            return []
        rows = await self.repos.decisions.positions(proposal.id or 0)
        return [
            (Stance(str(p.member_id), p.position, m.sector if m else None, m.organisation if m else None, p.reason), m)
            for p, m in rows
            if p.version == proposal.version
        ]

    async def _electorate(self, proposal: Proposal) -> tuple[int, dict[str, int]]:
        """How many members may take a position, overall and per sector (quorums count them)."""
        members = [m for m in await self.repos.broadcasts.members(proposal.coalition_id) if m.role != Role.OBSERVER]
        return len(members), dict(Counter(m.sector for m in members if m.sector))

    async def standing(self, proposal: Proposal) -> Outcome:
        """What would happen if it closed now, from every position (the figures of an anonymous
        proposal are shown only through `view`)."""
        members, by_sector = await self._electorate(proposal)
        stances = [s for s, _m in await self.stances(proposal)]
        return decide(proposal.kind, stances, rules_of(proposal), members, by_sector)

    async def _anonymous_view(self, proposal: Proposal, stances: list[Stance]) -> View:
        """An anonymous proposal's figures under the thresholds of anonymous polls and surveys:
        nothing below STEP positions; a sector's figures only from STEP of its positions, and only
        where what is left outside the shown sectors is none or STEP too; reasons without names,
        in alphabetical order rather than the order they came in."""
        if len(stances) < STEP:
            return View(None, [])
        members, by_sector = await self._electorate(proposal)
        rules = rules_of(proposal)
        full = decide(proposal.kind, stances, rules, members, by_sector)
        sizes = {sector: sum(tally.values()) for sector, tally in full.by_sector.items()}
        kept = shown_groups(sizes, sum(full.counts.values()), STEP)
        withheld = frozenset(set(by_sector) | set(sizes)) - kept
        outcome = decide(proposal.kind, stances, rules, members, by_sector, withheld)
        outcome = replace(outcome, by_sector={s: c for s, c in outcome.by_sector.items() if s in kept})
        reasons = sorted(("", s.position, s.reason) for s in stances if s.reason)
        return View(outcome, reasons, outcome.passed)

    async def view(self, proposal: Proposal) -> View:
        """What members may see of the positions, in the reader's language: all of it, with names,
        for a named proposal; for an anonymous one the count taken at the last step while open,
        and once closed the result written at close."""
        if not proposal.anonymous:
            stances = await self.stances(proposal)
            reasons = [(_name(m), s.position, s.reason) for s, m in stances if s.reason]
            outcome = await self.standing(proposal)
            return View(outcome, reasons, outcome.passed)
        if proposal.status != "open":
            result = json.loads(proposal.result or "{}")
            if result.get("withheld", True):
                return View(None, [], result.get("passed"))
            why = result.get("why", {})
            outcome = Outcome(
                result.get("passed"),
                list(why.get(language(), why.get("en", []))),
                Counter(result.get("counts", {})),
                {s: Counter(c) for s, c in result.get("by_sector", {}).items()},
                int(result.get("participants") or 0),
            )
            return View(outcome, [("", p, r) for p, r in result.get("reasons", [])], outcome.passed)
        keys = await self._keys_of(proposal)
        return await self._anonymous_view(proposal, self._snapshot(proposal, keys) if keys else [])

    def _snapshot(self, proposal: Proposal, keys: PollKeys) -> list[Stance]:
        if proposal.shown is None:
            return []
        return [_opened_stance("", opened) for opened in json.loads(keys.open(proposal.shown))]

    async def _step(self, proposal: Proposal) -> None:
        """An anonymous proposal: take a new count to show once the number of positions has moved
        by STEP since the last one, and only then redraw the cards (sealed, so the row says nothing)."""
        keys = await self._keys_of(proposal)
        if keys is None:
            return
        now = [s for s, _m in await self.stances(proposal)]
        if abs(len(now) - len(self._snapshot(proposal, keys))) < STEP:
            return
        snapshot = json.dumps(sorted(_sealed_stance(s) for s in now), ensure_ascii=False)
        proposal.shown = keys.seal(snapshot, POSITION_PAD)
        await self.repos.decisions.save(proposal)
        await self.refresh_cards(proposal)

    async def close(self, proposal: ProposalView) -> Outcome | None:
        """Close now, write the result once and post it where it was asked; None if already closed.
        An anonymous proposal's result holds only what may be shown, in every language, and its
        sealed positions and keys are deleted in the same transaction."""
        assert isinstance(proposal, Proposal)  # a view this service handed out: its row
        if proposal.status != "open":
            return None
        outcome = await self.standing(proposal)
        proposal.status = "decided" if outcome.passed is None else ("passed" if outcome.passed else "failed")
        proposal.closed_at = self.clock.now()
        if proposal.anonymous:
            proposal.result = json.dumps(await self._anonymous_result(proposal, outcome))
            proposal.shown = None
            await self.repos.decisions.seal_final(proposal.id or 0)
            self._keys[proposal.id or 0] = None
        else:
            proposal.result = json.dumps(
                {
                    "passed": outcome.passed,
                    "counts": dict(outcome.counts),
                    "by_sector": {s: dict(c) for s, c in outcome.by_sector.items()},
                    "participants": outcome.participants,
                    "version": proposal.version,
                }
            )
        await self.repos.decisions.save(proposal)
        await self.refresh_cards(proposal)

        async def result() -> Reply:
            return self._result(proposal, await self.view(proposal))

        await self._post(proposal, await self.channels_of(proposal), result, "result")
        return outcome

    async def _anonymous_result(self, proposal: Proposal, outcome: Outcome) -> dict[str, object]:
        stances = [s for s, _m in await self.stances(proposal)]
        said: dict[str, object] = {"passed": outcome.passed, "version": proposal.version, "anonymous": True}
        if len(stances) < STEP:
            return said | {"withheld": True}
        views = {}
        for code in LANGUAGES:
            with speaking(code):
                views[code] = await self._anonymous_view(proposal, stances)
        shown = views["en"].outcome
        assert shown is not None
        return said | {
            "withheld": False,
            "counts": dict(shown.counts),
            "by_sector": {s: dict(c) for s, c in shown.by_sector.items()},
            "participants": shown.participants,
            "why": {code: view.outcome.why for code, view in views.items() if view.outcome is not None},
            "reasons": [[position, reason] for _who, position, reason in views["en"].reasons],
        }

    async def close_due(self, now: datetime) -> int:
        closed = 0
        for proposal in await self.repos.decisions.due_to_close(now):
            closed += await self.close(proposal) is not None
        return closed

    async def record_outcome(
        self, proposal: ProposalView, statement: str, owner: MemberView | None, review_at: datetime | None
    ) -> None:
        """The register's entry: what was decided, who owns it, when it comes back."""
        assert isinstance(proposal, Proposal)  # a view this service handed out: its row
        if proposal.status == "open":
            raise DecisionProblem(
                _("Proposal #{id} is still open; close it first with /decision close {id}.").format(id=proposal.id)
            )
        if review_at is not None and review_at <= self.clock.now():
            raise DecisionProblem(_("The review date is in the past; give one still to come."))
        proposal.outcome = statement
        proposal.owner_id = owner.id if owner is not None else proposal.owner_id
        if review_at != proposal.review_at:
            proposal.review_at, proposal.review_told_at = review_at, None  # a new date is told again
        await self.repos.decisions.save(proposal)

    async def tell_reviews(self, now: datetime) -> int:
        """A week before a decision's review date: its owner and the coordinators are told, once."""
        told = 0
        for proposal in await self.repos.decisions.reviews_to_tell(now + REVIEW_NOTICE):
            proposal.review_told_at = now
            await self.repos.decisions.save(proposal)
            owner = await self.owner_of(proposal)
            people: dict[int | None, MemberView] = {
                m.id: m for m in await self.repos.members.coordinators(proposal.coalition_id)
            }
            if owner is not None:
                people[owner.id] = owner
            for member in people.values():

                def said(p: Proposal = proposal) -> Reply:
                    assert p.review_at is not None  # reviews_to_tell reads only proposals with one
                    return Reply(
                        _(
                            "🔁 Decision #{id} comes back for review {when}: {outcome} `/decision review {id}` "
                            "reopens it as a proposal."
                        ).format(id=p.id, when=timestamp(p.review_at, "R"), outcome=user_text(p.outcome or p.text)),
                        private=True,
                    )

                await self.outbox.to(
                    member, said, key=self._key(proposal, f"review:{proposal.review_at}:{member.id}"), source=SOURCE
                )
                told += 1
        return told

    async def next_close(self) -> datetime | None:
        """When the next open proposal with a closing time closes."""
        return await self.repos.decisions.next_close()

    async def next_review_notice(self) -> datetime | None:
        review = await self.repos.decisions.next_review_to_tell()
        return None if review is None else review - REVIEW_NOTICE

    async def week(self, coalition_id: int, now: datetime, ahead: datetime) -> tuple[list[Proposal], list[Proposal]]:
        """For the weekly digest: decided in the week gone, and reviews coming in the week ahead."""
        decided = await self.repos.decisions.closed_between(coalition_id, now - (ahead - now), now)
        reviews = [
            p for p in await self.repos.decisions.review_due(coalition_id, ahead) if p.review_at and p.review_at >= now
        ]
        return decided, reviews

    def export_csv(self, proposals: Sequence[ProposalView], owners: dict[int, str]) -> bytes:
        """One row per decision: what was proposed and decided, how, by how many, who owns it."""
        header = ["decision", "kind", "rules", "proposed", "closed", "status", "participants", "text", "outcome"]
        header += ["owner", "review"]
        rows = []
        for p in proposals:
            result = json.loads(p.result) if p.result else {}
            rows.append(
                [
                    p.id,
                    p.kind,
                    p.rules,
                    p.created_at.isoformat(),
                    p.closed_at.isoformat() if p.closed_at else "",
                    p.status,
                    result.get("participants", ""),
                    cell(p.text),
                    cell(p.outcome or ""),
                    cell(owners.get(p.owner_id or 0, "")),
                    p.review_at.date().isoformat() if p.review_at else "",
                ]
            )
        return table(header, rows)

    # Cards -------------------------------------------------------------------------------

    async def card_now(self, proposal: ProposalView) -> Reply:
        assert isinstance(proposal, Proposal)  # a view this service handed out: its row
        return self.card(proposal, await self.view(proposal))

    def _figures(self, proposal: Proposal, view: View) -> list[str]:
        """The counts and the reasons as members may see them (`view`)."""
        outcome = view.outcome
        if outcome is None:
            return [
                _(
                    "Positions are anonymous: the count is shown once {step} have taken one, "
                    "and changes only in steps of {step}."
                ).format(step=STEP)
                if proposal.status == "open"
                else _("Positions were anonymous, and fewer than {step} were taken: the figures are not shown.").format(
                    step=STEP
                )
            ]
        lines = [" · ".join(f"{_(LABELS[p])} {outcome.counts[p]}" for p in proposal.kind.positions)]
        if outcome.by_sector:
            per = "; ".join(
                f"{user_text(sector_name(s))}: "
                + ", ".join(f"{_(LABELS[p])} {c[p]}" for p in proposal.kind.positions if c[p])
                for s, c in sorted(outcome.by_sector.items())
            )
            lines.append(_("By sector: {sectors}").format(sectors=per))
        if proposal.anonymous and proposal.status == "open":
            lines.append(_("Positions are anonymous: this count changes only in steps of {step}.").format(step=STEP))
        if view.reasons:
            lines.append(_("Reasons given:"))
            lines += [
                f"• {user_text(who)}: {_(LABELS[p])}: {user_text(r)}" if who else f"• {_(LABELS[p])}: {user_text(r)}"
                for who, p, r in view.reasons
            ]
        return lines

    def card(self, proposal: Proposal, view: View) -> Reply:
        assert proposal.id is not None
        kind_words = _(KIND_WORDS[proposal.kind]).format(share=_("two thirds"))
        head = _("🗳️ **Proposal #{id}** ({kind}, version {version})").format(
            id=proposal.id, kind=kind_words, version=proposal.version
        )
        text = user_text(version(proposal, "text", proposal.text))
        rules = rules_of(proposal).words()
        lines = [head, text]
        if rules:
            lines.append(_("Rules: {rules}").format(rules="; ".join(rules)))
        lines += self._figures(proposal, view)
        verdict = self._verdict(proposal, view)
        if verdict:
            lines.append(verdict)
        blocks: list = [Section("\n".join(lines[:2])), Section("\n".join(lines[2:]))]
        if proposal.status == "open":
            closes = (
                _("Closes {when}.").format(when=timestamp(proposal.closes_at, "R"))
                if proposal.closes_at
                else _("Open until the proposer or a coordinator closes it.")
            )
            blocks.append(Context(closes))
            buttons = [
                Button(_(LABELS[p]), action_id("decision", "take", proposal.id, p)) for p in proposal.kind.positions
            ]
            other = the_other(proposal)
            if other is not None:
                buttons.append(Button(LANGUAGES[other], action_id("content", "other", "decision", proposal.id)))
            blocks.append(Actions(tuple(buttons)))
        return Reply("\n".join(lines), blocks=tuple(blocks), written_in=shown_language(proposal))

    def _verdict(self, proposal: Proposal, view: View) -> str:
        outcome = view.outcome
        why = "; ".join(outcome.why) if outcome is not None else ""
        if proposal.status == "open":
            if outcome is None:
                return ""  # an anonymous proposal under STEP: even "it would pass" would say something
            if outcome.passed is None:
                return _("Advice: the proposer decides once everyone has been heard.") + (f" ({why})" if why else "")
            if outcome.passed:
                return _("If it closed now: it would pass.")
            return _("If it closed now: it would not pass ({why}).").format(why=why)
        if proposal.status == "decided":
            return _("Closed: the proposer decides, having heard everyone.")
        if proposal.status == "passed":
            return _("Passed.")
        return _("Did not pass: {why}.").format(why=why) if why else _("Did not pass.")

    def _result(self, proposal: Proposal, view: View) -> Reply:
        head = _("🏁 **Proposal #{id} has closed:** {text}").format(
            id=proposal.id, text=user_text(version(proposal, "text", proposal.text))
        )
        lines = [head]
        outcome = view.outcome
        if outcome is not None:
            counts = " · ".join(f"{_(LABELS[p])} {outcome.counts[p]}" for p in proposal.kind.positions)
            participants = ngettext("{count} took part", "{count} took part", outcome.participants).format(
                count=outcome.participants
            )
            lines.append(f"{counts} ({participants})")
            for sector, tally in sorted(outcome.by_sector.items()):
                lines.append(
                    f"• {user_text(sector_name(sector))}: "
                    + ", ".join(f"{_(LABELS[p])} {tally[p]}" for p in proposal.kind.positions if tally[p])
                )
        else:
            lines += self._figures(proposal, view)
        lines.append(self._verdict(proposal, view))
        if proposal.status != "failed":
            lines.append(
                _(
                    'Record what was decided with /decision outcome {id} "STATEMENT" --owner @member '
                    '--review "in 6 months".'
                ).format(id=proposal.id)
            )
        return Reply("\n".join(lines), blocks=(Section("\n".join(lines)),))

    async def channels_of(self, proposal: Proposal) -> list[Channel]:
        wanted = set(proposal.channel_ids)
        return [c for c in await self.repos.coalitions.channels(proposal.coalition_id) if c.id in wanted]

    async def _post(
        self, proposal: Proposal, channels: Sequence[ChannelView], make: Callable[[], Awaitable[Reply]], part: str
    ) -> None:
        """`make()`'s reply in each channel, in its language, once (keyed `part:channel`)."""
        for channel, said in await self.outbox.for_channels(channels, make):
            await self.outbox.to(
                channel,
                said,
                key=self._key(proposal, f"{part}:{channel.id}"),
                source=SOURCE,
                source_id=proposal.id,
            )

    async def refresh_cards(self, proposal: Proposal) -> None:
        channels = await self.channels_of(proposal)
        for channel, card in await self.outbox.for_channels(channels, lambda: self.card_now(proposal)):
            posted = await self.repos.outbox.by_key(self._key(proposal, f"post:{channel.id}"))
            if posted is not None:
                await self.outbox.edit(posted, card, key=self._key(proposal, f"post-edit:{channel.id}"))

    @staticmethod
    def _key(proposal: Proposal, part: str) -> str:
        return f"{SOURCE}:{proposal.id}:{part}"

    async def _keys_of(self, proposal: Proposal) -> PollKeys | None:
        """An anonymous proposal's keys, while it is open; None for a named or a closed one."""
        if not proposal.anonymous or proposal.id is None:
            return None
        if proposal.id not in self._keys:
            wrapped = await self.repos.decisions.keys(proposal.id)
            self._keys[proposal.id] = unwrap(wrapped, self.secret, f"proposal:{proposal.id}") if wrapped else None
        return self._keys[proposal.id]

    @staticmethod
    def _voter(keys: PollKeys, member: Member) -> str:
        return keys.voter_key(member.ballot_salt or member.id)


def _name(member: Member | None) -> str:
    if member is None:
        return _("a former member")
    return member.display_name or member.user_id
