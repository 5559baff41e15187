"""How a proposal is decided: consent, consensus or advice, and the rules a coalition adds so that
no sector is simply outvoted (`every-sector`), a large agency counts as one partner
(`one-per-organisation`), and enough members, and enough of each sector, took part (`quorum`,
`sector-quorum`). Pure functions over the positions taken: the same answer on the card while the
proposal is open ("if it closed now") and at close.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from bot.i18n import N_, _, ngettext
from bot.sectors import sector_name
from storage.kinds import DecisionKind, PositionChoice

KINDS = tuple(DecisionKind)
LABELS = {
    "consent": N_("Consent"),
    "concern": N_("Concern"),
    "object": N_("Object"),
    "agree": N_("Agree"),
    "abstain": N_("Abstain"),
    "disagree": N_("Disagree"),
    "block": N_("Block"),
    "support": N_("Support"),
    "oppose": N_("Oppose"),
}
NO_SECTOR = ""  # participants without a sector count in no sector's rule
DEFAULT_THRESHOLD = Fraction(2, 3)


class RuleProblem(ValueError):
    """A --rule that cannot be read; the message says what is accepted."""


@dataclass(frozen=True)
class Stance:
    """One participant's position (at most one each), with what the rules group them by."""

    who: str
    position: str
    sector: str | None = None
    organisation: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Rules:
    every_sector: bool = False
    one_per_organisation: bool = False
    quorum: Fraction | None = None  # of members
    sector_quorum: int | None = None  # participants in each sector that has members
    threshold: Fraction = DEFAULT_THRESHOLD  # consensus: agree over agree + disagree (+ block)

    def words(self) -> list[str]:
        """The rules as the card says them."""
        said = []
        if self.every_sector:
            said.append(_("in every sector that takes part"))
        if self.one_per_organisation:
            said.append(_("each organisation counts once"))
        if self.quorum is not None:
            said.append(_("at least {share}% of members take part").format(share=round(self.quorum * 100)))
        if self.sector_quorum is not None:
            said.append(
                ngettext(
                    "at least {count} participant in each sector",
                    "at least {count} participants in each sector",
                    self.sector_quorum,
                ).format(count=self.sector_quorum)
            )
        return said


def parse_rules(texts: list[str]) -> Rules:
    """`every-sector`, `one-per-organisation`, `quorum 40%`, `sector-quorum 2` (several, comma
    or space apart: "every-sector,quorum 40%")."""
    rules = Rules()
    text = " ".join(texts).lower().replace(",", " ").strip()
    tokens = text.split()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "every-sector":
            rules = _with(rules, every_sector=True)
        elif token == "one-per-organisation" or token == "one-per-organization":
            rules = _with(rules, one_per_organisation=True)
        elif token in ("quorum", "sector-quorum") and i + 1 == len(tokens):
            raise RuleProblem(_("{rule} needs its number, like quorum 40% or sector-quorum 2.").format(rule=token))
        elif token in ("quorum", "sector-quorum"):
            value = tokens[i + 1]
            i += 1
            if token == "quorum":
                match = re.fullmatch(r"(\d{1,3})%?", value)
                if match is None or not 1 <= int(match.group(1)) <= 100:
                    raise RuleProblem(_("quorum takes a share of members from 1% to 100%, like quorum 40%."))
                rules = _with(rules, quorum=Fraction(int(match.group(1)), 100))
            else:
                if not value.isdigit() or not 1 <= int(value) <= 1000:
                    raise RuleProblem(_("sector-quorum takes a number of participants, like sector-quorum 2."))
                rules = _with(rules, sector_quorum=int(value))
        else:
            raise RuleProblem(
                _(
                    "'{rule}' is not a rule: use every-sector, one-per-organisation, quorum N% or sector-quorum N."
                ).format(rule=token)
            )
        i += 1
    return rules


def _with(rules: Rules, **changed: object) -> Rules:
    from dataclasses import replace

    return replace(rules, **changed)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Outcome:
    """The decision as it stands: `passed` (None for advice: the proposer decides), why in words,
    and the counts overall and per sector (of the positions as counted: organisations once)."""

    passed: bool | None
    why: list[str]
    counts: Counter[str]
    by_sector: dict[str, Counter[str]] = field(default_factory=dict)
    participants: int = 0


def counted(stances: list[Stance], one_per_organisation: bool) -> list[Stance]:
    """The stances as the rules count them: with `one-per-organisation`, each organisation's
    members become one stance, their majority position (a tie: abstain, or concern where a kind
    has no abstention); members with no organisation count on their own."""
    if not one_per_organisation:
        return stances
    alone = [s for s in stances if not s.organisation]
    grouped: dict[str, list[Stance]] = {}
    for stance in stances:
        if stance.organisation:
            grouped.setdefault(stance.organisation.strip().lower(), []).append(stance)
    merged = []
    for organisation, members in sorted(grouped.items()):
        tally = Counter(s.position for s in members).most_common()
        top = [p for p, n in tally if n == tally[0][1]]
        position = top[0] if len(top) == 1 else "tie"
        sectors = Counter(s.sector for s in members).most_common(1)
        reasons = [s.reason for s in members if s.position == position and s.reason]
        merged.append(
            Stance(
                f"org:{organisation}",
                position,
                sectors[0][0] if sectors else None,
                organisation,
                reasons[0] if reasons else None,
            )
        )
    return alone + merged


def decide(
    kind: DecisionKind | str,
    stances: list[Stance],
    rules: Rules,
    members: int,
    sector_members: dict[str, int],
    withheld: frozenset[str] = frozenset(),
) -> Outcome:
    """Whether the proposal passes under `kind` and `rules`, and why, in the reader's language.
    The reasons name no figure of a `withheld` sector (an anonymous proposal's small sectors)."""
    kind = DecisionKind(kind)
    as_counted = [
        s if s.position != "tie" else Stance(s.who, kind.split, s.sector, s.organisation)
        for s in counted(stances, rules.one_per_organisation)
    ]
    counts = Counter(s.position for s in as_counted)
    by_sector: dict[str, Counter[str]] = {}
    for stance in as_counted:
        if stance.sector:
            by_sector.setdefault(stance.sector, Counter())[stance.position] += 1
    participants = len(stances)
    why: list[str] = []
    if rules.quorum is not None and participants < rules.quorum * members:
        why.append(
            _("fewer than {share}% of members took part ({participants} of {members})").format(
                share=round(rules.quorum * 100), participants=participants, members=members
            )
        )
    short_quorum = short_share = 0  # withheld sectors: counted, never named (one may be one person)
    if rules.sector_quorum is not None:
        taking = Counter(s.sector for s in stances if s.sector)
        for sector in sorted(s for s, n in sector_members.items() if n):
            if taking[sector] < rules.sector_quorum and sector in withheld:
                short_quorum += 1
            elif taking[sector] < rules.sector_quorum:
                why.append(
                    _("{sector}: {count} of the {needed} participants needed").format(
                        sector=sector_name(sector), count=taking[sector], needed=rules.sector_quorum
                    )
                )
    if short_quorum:
        why.append(
            ngettext(
                "{count} sector with too few positions to show has fewer participants than the {needed} needed",
                "{count} sectors with too few positions to show have fewer participants than the {needed} needed",
                short_quorum,
            ).format(count=short_quorum, needed=rules.sector_quorum)
        )
    if not kind.verdict:
        return Outcome(None, why, counts, by_sector, participants)
    if not participants:
        why.append(_("nobody has taken a position yet"))
    stopping = kind.stopping
    if stopping is not None and counts[stopping]:
        why.append(
            ngettext("{count} objection stands", "{count} objections stand", counts[stopping]).format(
                count=counts[stopping]
            )
            if kind is DecisionKind.CONSENT
            else ngettext("{count} block stands", "{count} blocks stand", counts[stopping]).format(
                count=counts[stopping]
            )
        )
    if kind is DecisionKind.CONSENSUS:
        groups = {"": counts, **(by_sector if rules.every_sector else {})}
        for sector, tally in sorted(groups.items()):
            agree = tally[PositionChoice.AGREE]
            against = tally[PositionChoice.DISAGREE] + tally[PositionChoice.BLOCK]
            if agree + against and Fraction(agree, agree + against) < rules.threshold:
                share = _threshold_words(rules.threshold)
                if sector in withheld:
                    short_share += 1
                elif sector:
                    why.append(
                        _("{sector} did not reach {share} ({agree} of {total} agree)").format(
                            sector=sector_name(sector), share=share, agree=agree, total=agree + against
                        )
                    )
                else:
                    why.append(
                        _("agreement did not reach {share} ({agree} of {total} agree)").format(
                            share=share, agree=agree, total=agree + against
                        )
                    )
        if short_share:
            why.append(
                ngettext(
                    "{count} sector with too few positions to show did not reach {share}",
                    "{count} sectors with too few positions to show did not reach {share}",
                    short_share,
                ).format(count=short_share, share=_threshold_words(rules.threshold))
            )
        if participants and not counts[PositionChoice.AGREE]:
            why.append(_("nobody agreed yet"))
    return Outcome(not why, why, counts, by_sector, participants)


def _threshold_words(threshold: Fraction) -> str:
    if threshold == Fraction(2, 3):
        return _("two thirds")
    if threshold == Fraction(1, 2):
        return _("half")
    return f"{round(threshold * 100)}%"
