"""Decisions (issue 30): the rules against hand-worked cases and against a direct recomputation
from the raw positions (hypothesis), and the `/decision` commands as members use them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.decisions import Rules, Stance, decide, parse_rules
from tests.conftest import examples
from tests.harness import shown
from tests.messengers import MemoryPlatform


def stance(
    who: str, position: str, sector: str | None = None, org: str | None = None, reason: str | None = None
) -> Stance:
    return Stance(who, position, sector, org, reason)


# The rules by hand ---------------------------------------------------------------------------


def test_consent_passes_when_no_objection_stands_and_someone_took_part() -> None:
    assert decide("consent", [], Rules(), 10, {}).passed is False  # nobody yet: nothing to pass
    assert decide("consent", [stance("a", "consent"), stance("b", "concern")], Rules(), 10, {}).passed is True
    outcome = decide("consent", [stance("a", "consent"), stance("b", "object", reason="too late")], Rules(), 10, {})
    assert outcome.passed is False and outcome.why == ["1 objection stands"]


def test_consensus_needs_two_thirds_of_those_who_did_not_abstain_and_no_block() -> None:
    two_of_three = [stance("a", "agree"), stance("b", "agree"), stance("c", "disagree"), stance("d", "abstain")]
    assert decide("consensus", two_of_three, Rules(), 10, {}).passed is True
    one_of_two = [stance("a", "agree"), stance("b", "disagree"), stance("c", "abstain")]
    outcome = decide("consensus", one_of_two, Rules(), 10, {})
    assert outcome.passed is False and outcome.why == ["agreement did not reach two thirds (1 of 2 agree)"]
    blocked = decide("consensus", [*two_of_three, stance("e", "block", reason="no")], Rules(), 10, {})
    assert blocked.passed is False and "1 block stands" in blocked.why


def test_twenty_five_officers_do_not_outvote_four_residents_under_every_sector() -> None:
    """The issue's case: a large agency agrees, the residents mostly do not."""
    officers = [stance(f"o{n}", "agree", "law-enforcement") for n in range(25)]
    residents = [stance("r0", "agree", "resident")] + [stance(f"r{n}", "disagree", "resident") for n in range(1, 4)]
    plain = decide("consensus", officers + residents, Rules(), 40, {})
    assert plain.passed is True  # 26 of 29 agree overall
    fair = decide("consensus", officers + residents, Rules(every_sector=True), 40, {})
    assert fair.passed is False
    assert fair.why == ["resident did not reach two thirds (1 of 4 agree)"]


def test_one_per_organisation_counts_each_agency_once_and_a_tie_abstains() -> None:
    police = [stance(f"p{n}", "agree", "law-enforcement", "Metro Police") for n in range(10)]
    tenants = [
        stance("t1", "disagree", "resident", "Tenants Union"),
        stance("t2", "disagree", "resident", "Tenants Union"),
    ]
    school = [stance("s1", "agree", "school", "Eastside High"), stance("s2", "disagree", "school", "Eastside High")]
    outcome = decide("consensus", police + tenants + school, Rules(one_per_organisation=True), 40, {})
    assert outcome.counts == Counter({"agree": 1, "disagree": 1, "abstain": 1})  # police, tenants, the tied school
    assert outcome.passed is False  # 1 of 2 agree: not two thirds


def test_quorum_and_sector_quorum() -> None:
    few = [stance("a", "consent", "resident"), stance("b", "consent", "youth")]
    outcome = decide("consent", few, Rules(quorum=Fraction(40, 100)), 10, {"resident": 5, "youth": 5})
    assert outcome.passed is False and outcome.why == ["fewer than 40% of members took part (2 of 10)"]
    outcome = decide("consent", few, Rules(sector_quorum=2), 4, {"resident": 2, "youth": 2})
    assert outcome.passed is False and outcome.why == [
        "resident: 1 of the 2 participants needed",
        "youth: 1 of the 2 participants needed",
    ]


def test_advice_leaves_the_decision_to_the_proposer() -> None:
    outcome = decide("advice", [stance("a", "oppose"), stance("b", "support")], Rules(), 10, {})
    assert outcome.passed is None and outcome.counts == Counter({"oppose": 1, "support": 1})


def test_rules_are_read_as_typed_and_a_wrong_one_is_refused_in_words() -> None:
    assert parse_rules(["every-sector quorum 40%, sector-quorum 2"]) == Rules(
        every_sector=True, quorum=Fraction(2, 5), sector_quorum=2
    )
    for wrong, said in (("quorum", "needs its number"), ("quorum 150%", "from 1% to 100%"), ("majority", "not a rule")):
        with pytest.raises(ValueError, match=said):
            parse_rules([wrong])


# The rules against a direct recomputation ----------------------------------------------------

SECTORS = ("resident", "youth", "law-enforcement", None)
ORGS = ("Metro Police", "Tenants Union", "Eastside High", None)


@st.composite
def stances(draw: st.DrawFn) -> list[Stance]:
    count = draw(st.integers(0, 25))
    return [
        Stance(
            f"m{n}",
            draw(st.sampled_from(("agree", "abstain", "disagree", "block"))),
            draw(st.sampled_from(SECTORS)),
            draw(st.sampled_from(ORGS)),
        )
        for n in range(count)
    ]


def direct(positions: list[Stance], every_sector: bool, per_org: bool) -> bool:
    """The issue's words, written out again: organisations once by their majority (a tie
    abstains); no block anywhere; agree at least two thirds of agree + disagree + block overall,
    and, with every-sector, in each sector that has a participant."""
    if per_org:
        people = [s for s in positions if s.organisation is None]
        for org in {s.organisation for s in positions if s.organisation}:
            members = [s for s in positions if s.organisation == org]
            tally = Counter(s.position for s in members)
            best = max(tally.values())
            winners = [p for p, n in tally.items() if n == best]
            sector = Counter(s.sector for s in members).most_common(1)[0][0]
            people.append(Stance(org, winners[0] if len(winners) == 1 else "abstain", sector, org))
    else:
        people = positions
    if not people or any(s.position == "block" for s in people):
        return False

    def enough(group: list[Stance]) -> bool:
        agree = sum(s.position == "agree" for s in group)
        against = sum(s.position in ("disagree", "block") for s in group)
        return agree + against == 0 or 3 * agree >= 2 * (agree + against)

    if not any(s.position == "agree" for s in people) or not enough(people):
        return False
    if every_sector:
        for sector in {s.sector for s in people if s.sector}:
            if not enough([s for s in people if s.sector == sector]):
                return False
    return True


@settings(max_examples=examples(300), deadline=None)
@given(stances(), st.booleans(), st.booleans())
def test_every_sector_and_one_per_organisation_agree_with_a_direct_recomputation(
    positions: list[Stance], every_sector: bool, per_org: bool
) -> None:
    rules = Rules(every_sector=every_sector, one_per_organisation=per_org)
    assert decide("consensus", positions, rules, 100, {}).passed is direct(positions, every_sector, per_org)


# The commands ------------------------------------------------------------------------------


async def test_a_proposal_from_its_posting_to_the_register(bot) -> None:  # type: ignore[no-untyped-def]
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    for name, sector in (("maria", "resident"), ("jamal", "resident"), ("lee", "law-enforcement")):
        await bot.run(f"/coalition profile --sector {sector}", as_=name)
    posted = await bot.run(
        '/decision propose "Hold the youth forum at the library" --kind consensus --rule every-sector'
    )
    assert "Proposal #1 is posted" in shown(posted)
    await bot.run("/decision position 1 agree", as_="maria")
    refused = await bot.run("/decision position 1 block", as_="lee")
    assert refused.error and "A block needs a reason" in shown(refused) and "Usage" in shown(refused)
    await bot.run('/decision position 1 block "The library closes at 6"', as_="lee")
    card = shown(await bot.run("/decision show 1"))
    assert (
        "lee: Block: The library closes at 6" in card and "If it closed now: it would not pass (1 block stands" in card
    )
    # The proposer amends it: positions start again and those who took one are told privately.
    amended = await bot.run('/decision amend 1 "Hold the youth forum at the library, 4 to 6 pm"')
    assert "now version 2" in shown(amended) and "2 told privately" in shown(amended)
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    told = sorted(p.target for p in platform.posted if ":amended:" in p.key)
    assert told == ["dm:lee", "dm:maria"]
    shown_now = shown(await bot.run("/decision show 1"))
    assert "Agree 0" in shown_now and "v1: Hold the youth forum at the library" in shown_now
    for name in ("maria", "jamal", "lee"):
        await bot.run("/decision position 1 agree", as_=name)
    observer = await bot.run("/coalition role @viewer observer")
    assert not observer.error
    assert (await bot.run("/decision position 1 agree", as_="viewer")).error
    not_theirs = await bot.run("/decision close 1", as_="jamal")  # neither the proposer nor a coordinator
    assert not_theirs.error and "Only" in shown(not_theirs)
    assert "Proposal #1 is closed" in shown(await bot.run("/decision close 1"))
    assert "already closed" in shown(await bot.run("/decision close 1"))
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    results = [shown(p.reply) for p in platform.posted if ":result:" in p.key]
    assert results and "Passed." in results[0] and "resident: Agree 2" in results[0]
    recorded = await bot.run(
        '/decision outcome 1 "The youth forum moves to the library" --owner @maria --review "in 6 months"'
    )
    assert "Owner: maria" in shown(recorded)
    listed = shown(await bot.run("/decision list passed"))
    assert "#1 Hold the youth forum at the library, 4 to 6 pm (passed) review" in listed
    assert "#1" in shown(await bot.run("/decision list"))
    again = await bot.run("/decision review 1")
    assert "Proposal #2 reopens decision #1" in shown(again)
    assert "The youth forum moves to the library" in shown(await bot.run("/decision show 2"))


async def test_a_proposal_closes_at_its_time_and_spanish_positions_are_taken(bot) -> None:  # type: ignore[no-untyped-def]
    app = bot.dispatcher.app
    await bot.run('/decision propose "Paint the community centre" --closes "in 2 hours"')
    await bot.run("/coalition language es", as_="maria")
    taken = await bot.run('/decision position 1 objeción "Falta presupuesto"', as_="maria")
    assert "Anotado: **Objeción**" in taken.text, taken.text
    await app.scheduler.advance_to(app.clock.now() + timedelta(hours=3))
    shown_after = shown(await bot.run("/decision show 1"))
    assert "Did not pass: 1 objection stands" in shown_after
    late = await bot.run("/decision position 1 consent", as_="jamal")
    assert late.error and "is closed" in shown(late)


async def test_forgetting_a_member_removes_their_positions_and_keeps_the_result(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.run('/decision propose "Open the park later"')
    await bot.run('/decision position 1 object "Not safe after dark"', as_="maria")
    await bot.run("/decision close 1")
    before = shown(await bot.run("/decision show 1"))
    assert "maria: Object: Not safe after dark" in before
    async with bot.dispatcher.app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(bot.where("general"))).coalition
        member = await services.coalitions.find_member(coalition, bot.actor("maria").user)  # type: ignore[arg-type]
        await services.governance.forget(member)  # type: ignore[arg-type]
        await services.commit()
    after = shown(await bot.run("/decision show 1"))
    assert "maria" not in after and "Not safe after dark" not in after
    assert "Did not pass" in after  # the decision stays on the record


async def test_the_register_reminds_before_a_review_and_goes_in_the_digest_and_the_export(bot) -> None:  # type: ignore[no-untyped-def]
    """A week before its review date, a decision's owner and the coordinators are told, once; the
    weekly digest says what was decided and what comes back; `/decision export` is the register."""
    import csv
    import io

    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run("/coalition whoami", as_="maria")
    await bot.run('/decision propose "Move the youth forum to the library"')
    await bot.run("/decision position 1 consent", as_="maria")
    await bot.run("/decision close 1")
    recorded = await bot.run(
        '/decision outcome 1 "The youth forum meets at the library" --owner @maria --review "in 10 days"'
    )
    assert not recorded.error, shown(recorded)
    async with app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(bot.where("general"))).coalition
        digest = shown(await services.digests.compose(coalition, app.clock.now()))  # type: ignore[arg-type]
    assert "Decisions" in digest and "#1 The youth forum meets at the library: passed" in digest
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=2))
    assert not [p for p in platform.posted if ":review:" in p.key]  # 8 days ahead: not yet
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=2))
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=1))
    told = sorted(p.target for p in platform.posted if ":review:" in p.key)
    assert told == ["dm:admin", "dm:maria"], told  # the owner and the coordinator, once each
    assert "comes back for review" in shown(next(p.reply for p in platform.posted if ":review:" in p.key))
    export = await bot.run("/decision export")
    rows = list(csv.DictReader(io.StringIO(export.attachments[0].content.decode())))
    assert [(r["decision"], r["status"], r["participants"], r["owner"]) for r in rows] == [
        ("1", "passed", "1", "maria")
    ]
    assert (await bot.run("/decision export", as_="maria")).error  # coordinators: it names owners


async def test_action_items_carry_a_decision_out_and_show_with_it(bot) -> None:  # type: ignore[no-untyped-def]
    app = bot.dispatcher.app
    await bot.run("/coalition whoami", as_="maria")
    await bot.run('/decision propose "Move the youth forum to the library"')
    await bot.run("/decision position 1 consent", as_="maria")
    await bot.run("/decision close 1")
    await bot.run('/meeting schedule "Planning" "in 1 minute"')
    await app.scheduler.advance_to(app.clock.now() + timedelta(minutes=2))
    added = await bot.run('/meeting action 1 "Book the library room" @maria --due "in 2 days" --decision 1')
    assert not added.error, shown(added)
    wrong = await bot.run('/meeting action 1 "Something" @maria --due "in 2 days" --decision 9')
    assert wrong.error and "There is no proposal #9" in shown(wrong) and "Usage" in shown(wrong)
    shown_decision = shown(await bot.run("/decision show 1"))
    assert "Carried out by:" in shown_decision and "Book the library room, maria: due" in shown_decision
    await bot.run("/meeting done 1", as_="maria")
    assert "Book the library room, maria: done" in shown(await bot.run("/decision show 1"))


# Anonymous proposals -------------------------------------------------------------------------


async def _rows(bot, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    async with bot.dispatcher.app.db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_an_anonymous_proposal_names_nobody_moves_in_steps_and_keeps_small_sectors_back(
    bot, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Read as the threat model's attackers read an anonymous poll: the card after each click, the
    logs, the database while open and after the close."""
    import logging

    from storage.database import sqlite_path

    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    people = {"ana": "resident", "ben": "resident", "cy": "resident", "lee": "law-enforcement"}
    people |= {"kim": "law-enforcement", "pat": "school"}
    for name, sector in people.items():
        await bot.run(f"/coalition profile --sector {sector}", as_=name)
    await bot.run('/decision propose "Cameras on Elm Street" --kind consensus --rule every-sector --anonymous')
    caplog.set_level(logging.INFO)
    cards: list[str] = []

    async def card() -> str:
        cards.append(shown(await bot.run("/decision show 1")))
        return cards[-1]

    taken = await bot.run('/decision position 1 block "Cameras chill the youth centre"', as_="lee")
    assert "anonymous" in shown(taken) and "without your name" in shown(taken)
    assert "shown once 3 have taken one" in await card()
    await bot.click("decision:take:1:agree", as_="ana")
    now = await card()
    assert "Cameras chill" not in now and "If it closed now" not in now  # no reason, no verdict before the step
    await bot.run("/decision position 1 agree", as_="ben")
    now = await card()  # three positions: the first count, reasons without names
    assert "Agree 2" in now and "Block 1" in now and "• Block: Cameras chill the youth centre" in now
    assert "lee" not in now and "By sector" not in now  # no sector has three positions yet
    for name, position in (("cy", "agree"), ("kim", "agree"), ("pat", "disagree")):
        await bot.run(f"/decision position 1 {position}", as_=name)
        if name == "kim":
            assert "Agree 4" not in await card()  # four and five positions: the count stays at three
    now = await card()  # six: residents (3) are shown; police (2) and the school (1) are held back
    assert "By sector: resident: Agree 3\n" in now
    # The rule is held to in every sector, but a small one is neither named nor counted.
    assert "2 sectors with too few positions to show did not reach two thirds" in now
    assert "law-enforcement" not in now and "school" not in now
    assert all(name not in c for c in cards for name in people)
    # The logs say a position was taken, never by whom.
    assert not [r for r in caplog.records if "decision" in r.getMessage() and any(n in r.getMessage() for n in people)]
    # While open: sealed rows, no member ids, no times; the proposal row holds a sealed count.
    sealed = await _rows(bot, "SELECT voter_key, sealed FROM sealed_positions")
    assert len(sealed) == 6 and all(s.startswith("s2:") for _k, s in sealed)
    assert len({len(s) for _k, s in sealed}) == 1  # padded: a reason's length shows nowhere
    assert await _rows(bot, "SELECT count(*) FROM positions") == [(0,)]
    (shown_row,) = (await _rows(bot, "SELECT shown FROM proposals"))[0]
    assert shown_row.startswith("s2:") and "Cameras" not in shown_row
    (wrapped,) = (await _rows(bot, "SELECT wrapped FROM proposal_keys"))[0]
    # The author of the block withdraws it; nobody else can.
    assert "withdrawn" in shown(await bot.run("/decision withdraw 1", as_="lee"))
    assert (await bot.run("/decision withdraw 1", as_="lee")).error
    await bot.run("/decision close 1")
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    result = next(shown(p.reply) for p in platform.posted if ":result:" in p.key)
    assert "Agree 4 · Abstain 0 · Disagree 1 · Block 0 (5 took part)" in result
    # Residents 3, police 1, school 1: showing the residents would leave 2 positions to difference.
    assert "resident" not in result and "school" not in result and "law-enforcement" not in result
    assert "Did not pass: 1 sector with too few positions to show did not reach two thirds." in result
    assert all(name not in result for name in people)
    # Closed: the positions and the keys are gone; the file keeps no copy of them.
    assert await _rows(bot, "SELECT count(*) FROM sealed_positions") == [(0,)]
    assert await _rows(bot, "SELECT count(*) FROM proposal_keys") == [(0,)]
    stored = (await _rows(bot, "SELECT result, shown FROM proposals"))[0]
    assert stored[1] is None and all(name not in stored[0] for name in people)
    path = sqlite_path(app.db.url)
    if path is not None and app.db.is_sqlite:
        raw = b"".join(f.read_bytes() for f in (path, path.with_name(path.name + "-wal")) if f.exists())
        for secret in [wrapped, shown_row, *(s for _k, s in sealed)]:
            assert secret.encode() not in raw, "a deleted position or key is still on disk"


async def test_an_anonymous_proposal_with_too_few_positions_says_only_whether_it_passed(bot) -> None:  # type: ignore[no-untyped-def]
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run('/decision propose "Close the park at night" --anonymous')
    await bot.run('/decision position 1 object "Night shifts cross it"', as_="maria")
    await bot.run("/decision position 1 consent", as_="jamal")
    await bot.run("/decision close 1")
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    result = next(shown(p.reply) for p in platform.posted if ":result:" in p.key)
    assert "Did not pass." in result and "fewer than 3 were taken" in result
    assert "Object" not in result and "Night shifts" not in result and "took part" not in result
    shown_after = shown(await bot.run("/decision show 1"))
    assert "Night shifts" not in shown_after and "maria" not in shown_after


async def test_amending_an_anonymous_proposal_tells_every_member_not_only_those_who_took_part(bot) -> None:  # type: ignore[no-untyped-def]
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    for name in ("maria", "jamal", "lee"):
        await bot.run("/coalition profile --sector resident", as_=name)
    await bot.run('/decision propose "Move the market" --anonymous')
    await bot.run("/decision position 1 consent", as_="maria")
    amended = shown(await bot.run('/decision amend 1 "Move the market to Saturday"'))
    assert "4 told privately" in amended  # admin, maria, jamal, lee: who had taken part does not show
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    told = sorted(p.target for p in platform.posted if ":amended:" in p.key)
    assert told == ["dm:admin", "dm:jamal", "dm:lee", "dm:maria"]
    notes = [shown(p.reply) for p in platform.posted if ":amended:" in p.key]
    assert all("any position taken on it was cleared" in note for note in notes)
    assert await _rows(bot, "SELECT count(*) FROM sealed_positions") == [(0,)]
    await bot.run("/decision position 1 consent", as_="maria")  # the new version takes positions again
    assert await _rows(bot, "SELECT count(*) FROM sealed_positions") == [(1,)]


@settings(max_examples=examples(200), deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 9)), st.integers(0, 9))
def test_shown_sectors_are_never_fewer_than_the_step_nor_leave_a_difference_that_is(
    sizes: dict[str, int], without_sector: int
) -> None:
    """Checked from the definition, not the implementation: every shown figure is of at least STEP,
    and the total less the shown ones is none or at least STEP, so no hidden group is a difference."""
    from bot.poll_cards import STEP
    from bot.suppression import shown_groups

    total = sum(sizes.values()) + without_sector
    kept = shown_groups(sizes, total, STEP)
    assert all(sizes[g] >= STEP for g in kept)
    rest = total - sum(sizes[g] for g in kept)
    assert not kept or rest == 0 or rest >= STEP  # with none shown, only the total is (under its own rule)
    # Maximal in the simple case: when every group is large enough and nothing is left over, all show.
    if all(n >= STEP for n in sizes.values()) and without_sector == 0:
        assert kept == set(sizes)
