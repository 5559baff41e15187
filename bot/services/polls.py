"""Polls: single and multiple choice, ranked choice (instant runoff) and scheduling polls, with
anonymous ballots, hidden results, deadlines, reminders and exports.

A ballot is one row per voter and poll; changing a vote replaces it, so a click delivered twice
or two racing clicks still leave one ballot. Tallies are always counted from the ballot rows at
the moment a card is drawn, never kept as counters, so what members see equals the database.
Cards posted in channels are refreshed through `Outbox.edit`, which coalesces a burst of votes
into about one edit a second per message.

Anonymous ballots carry no member id and no time, only a keyed hash (HMAC-SHA256 with the
configured secret) of the poll and the voter, which is what stops double voting and lets
`/poll remind` find who has not voted without anyone being shown who has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from bot import poll_cards as cards
from bot.bilingual import second_version, set_second
from bot.clock import Clock
from bot.i18n import _, language
from bot.markup import timestamp, user_text
from bot.permissions import Role
from bot.problems import Problem
from bot.recurrence import RecurrenceProblem, recurrence_rule
from bot.replies import MENU_OPTIONS_MAX, Reply, Section
from bot.sealing import PollKeys, new_keys, unwrap, wrap
from bot.services.outbox import Outbox
from bot.services.runoff import Results, Round, instant_runoff
from bot.services.surveys import (
    SurveyService,
    survey_results_to_json,
)
from bot.spreadsheets import cell, table
from bot.tallies import SealedTallies, SealedTally
from bot.views import ChannelView, MemberView, PollView
from storage import Repositories
from storage.broadcasts import MemberAddress
from storage.kinds import PollKind
from storage.models import Channel, Member, Poll

SOURCE = "poll"
KINDS = tuple(PollKind)
MIN_OPTIONS, MAX_OPTIONS = 2, MENU_OPTIONS_MAX
MAX_QUESTION = 300
REMIND_EVERY = timedelta(hours=1)


class PollProblem(Problem):
    """The poll cannot be made, or the vote cannot be taken; the message says why."""


def fold(text: str) -> str:
    """An option as compared: case and runs of spaces do not make two options different."""
    return " ".join(text.casefold().split())


def keyed_hash(secret: str, *parts: object) -> str:
    return hmac.new(secret.encode(), "\x1f".join(str(p) for p in parts).encode(), hashlib.sha256).hexdigest()


def parse_choices(stored: str) -> list[int]:
    return [int(c) for c in stored.split(",") if c]


class PollService:
    def __init__(
        self, repos: Repositories, outbox: Outbox, clock: Clock, secret: str, tallies: SealedTallies | None = None
    ) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock
        self.secret = secret
        self.surveys = SurveyService(repos, clock)
        self._keys: dict[int, PollKeys | None] = {}  # unwrapped once per transaction
        # Open anonymous polls' counts in this process's memory (bot.tallies); what this transaction
        # changes reaches them only once it is committed (`committed`).
        self.tallies = tallies or SealedTallies()
        self._votes: dict[int, dict[str, str]] = {}  # poll -> voter key -> choices, this transaction
        self._rebuilt: dict[int, SealedTally] = {}  # counts rebuilt in this transaction, with its votes

    # Creating ------------------------------------------------------------------------------

    async def create(
        self,
        coalition_id: int,
        author: MemberView,
        kind: str,
        question: str,
        options: list[str],
        *,
        channels: Sequence[ChannelView],
        zone: ZoneInfo,
        max_choices: int | None = None,
        anonymous: bool = False,
        hidden: bool = False,
        live: bool = False,
        allow_change: bool = True,
        eligible: list[str] | None = None,
        closes_at: datetime | None = None,
        public: bool = False,
        second: tuple[str, list[str]] | None = None,
        open_options: bool = False,
        every: str | None = None,
    ) -> PollView:
        """`second`: (language, [question, option, ...]) in the other language; a scheduling
        poll's options are times, so it takes the question only. `open_options`: members may add
        options; `every`: a check-in that repeats, each round closing before the next opens."""
        if kind not in KINDS:
            raise PollProblem(
                _("'{kind}' is not a kind of poll: use {KINDS}.").format(kind=kind, KINDS=", ".join(KINDS))
            )
        form = PollKind(kind)
        if second is not None:
            wanted = 1 if form.dates else 1 + len(options)
            if len(second[1]) != wanted:
                what = (
                    _("the question")
                    if form.dates
                    else _("the question and each of the {count} options, in order, apart with |").format(
                        count=len(options)
                    )
                )
                raise PollProblem(
                    _("--{code} takes {what}; {given} were given.").format(
                        code=second[0], what=what, given=len(second[1])
                    )
                )
        if live and not anonymous:
            raise PollProblem(_("--live is for anonymous polls; other polls show their count unless --hidden."))
        if live and hidden:
            raise PollProblem(_("Choose --live or --hidden, not both."))
        if form.is_survey:
            self.surveys.check_questions(options)
            anonymous, hidden = True, True  # always: answers are only ever shown as totals, once closed
        elif anonymous:
            # Hidden until close unless asked: a coordinator with a few puppet accounts can subtract
            # any live count, stepped or not, to read a target's vote; the final count names nobody.
            hidden = not live
        elif not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise PollProblem(
                _("A poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options; {options} were given.").format(
                    MIN_OPTIONS=MIN_OPTIONS, MAX_OPTIONS=MAX_OPTIONS, options=len(options)
                )
            )
        seen: set[str] = set()
        for option in options:
            folded = fold(option)
            if folded in seen:
                if form.is_survey:
                    said = _("The question '{option}' is given twice; each question must be different.")
                else:
                    said = _("The option '{option}' is given twice; each option must be different.")
                raise PollProblem(said.format(option=option))
            seen.add(folded)
        if max_choices is not None and form is not PollKind.MULTIPLE:
            raise PollProblem(_("--max only applies to multiple-choice polls (--kind multiple)."))
        if max_choices is not None and not 1 <= max_choices <= len(options):
            raise PollProblem(
                _("--max must be between 1 and the number of options ({options}).").format(options=len(options))
            )
        if closes_at is not None and closes_at <= self.clock.now():
            raise PollProblem(_('The closing time is in the past; give a time still to come, like "friday 5pm".'))
        if open_options and not form.options_can_change:
            raise PollProblem(_("--open is for polls with options members can add: single, multiple or ranked."))
        rule, next_round = self._repeat(form, every, zone)
        if next_round is not None:
            if closes_at is not None and closes_at > next_round:
                raise PollProblem(
                    _("Each round closes before the next opens ({next}); give an earlier --closes, or none.").format(
                        next=timestamp(next_round, "f")
                    )
                )
            closes_at = closes_at or next_round
        roles = {Role.COORDINATOR.value, Role.MEMBER.value}
        coalition = await self.repos.coalitions.get(coalition_id)
        known_sectors = coalition.sectors if coalition else []
        for who in eligible or []:
            if who not in roles and who not in known_sectors:
                raise PollProblem(
                    _(
                        "'{who}' is neither a role (coordinator, member) nor one of the coalition's "
                        "sectors ({known_sectors})."
                    ).format(who=who, known_sectors=", ".join(known_sectors))
                )
        now = self.clock.now()
        made = Poll(
            coalition_id=coalition_id,
            kind=form,
            question=question,
            options=json.dumps(options),
            max_choices=max_choices,
            anonymous=anonymous,
            public=public,
            hidden=hidden,
            allow_change=allow_change,
            eligible=list(eligible or []),
            timezone=zone.key,
            channel_ids=[c.id for c in channels if c.id is not None],
            closes_at=closes_at,
            created_by=author.id,
            created_at=now,
            language=language(),  # the author's, in force while their command runs
            open_options=open_options,
            every=rule,
            next_round_at=next_round,
        )
        if second is not None:
            fields: dict[str, object] = {"question": second[1][0]}
            if not form.dates:
                fields["options"] = second[1][1:]
            set_second(made, second[0], fields)
        poll = await self.repos.polls.add(made)
        if rule is not None:
            poll.series_id = poll.id
            await self.repos.polls.save(poll)
        await self._open(poll, channels)
        return poll

    async def _open(self, poll: Poll, channels: Sequence[ChannelView]) -> None:
        """Seal an anonymous poll's keys and post its card in each channel, once."""
        assert poll.id is not None
        if poll.anonymous:
            keys = new_keys()
            await self.repos.polls.add_keys(poll.id, wrap(keys, self.secret, poll.id))
            self._keys[poll.id] = keys
        for channel, card in await self.outbox.for_channels(channels, lambda: self.card(poll)):
            await self.outbox.to(
                channel,
                card,
                key=self._key(poll, f"post:{channel.id}"),
                source=SOURCE,
                source_id=poll.id,
            )

    # Polls that repeat -------------------------------------------------------------------------

    def _repeat(self, kind: PollKind, every: str | None, zone: ZoneInfo) -> tuple[str | None, datetime | None]:
        """(the RRULE, when the second round opens) for `--every`, the first round opening now."""
        if not every:
            return None, None
        if kind.dates:
            raise PollProblem(_("A scheduling poll asks about fixed times, so it cannot repeat."))
        local = self.clock.now().astimezone(zone).replace(microsecond=0)
        try:
            rule = recurrence_rule(every, local.replace(tzinfo=None), zone)
        except RecurrenceProblem as exc:
            raise PollProblem(str(exc)) from exc
        assert rule is not None
        following = self._after(rule, local, local)
        if following is None:
            raise PollProblem(_("'{every}' gives no second round; check UNTIL or COUNT.").format(every=every))
        return rule, following

    @staticmethod
    def _after(rule: str, first: datetime, moment: datetime) -> datetime | None:
        """The rule's next start strictly after `moment` (aware), from the series' first round."""
        found = rrulestr(rule, dtstart=first).after(moment)
        return None if found is None else found.astimezone(UTC)

    async def open_rounds(self, now: datetime) -> int:
        """Each series whose next round is due: the round before is closed (if its deadline has not
        already), the next one opens with the same question and options, and the one after it is
        planned. The round is claimed by clearing `next_round_at` where it is still set, so two
        processes (or a repeated run) open it once."""
        opened = 0
        for poll in await self.repos.polls.rounds_due(now):
            if not await self.repos.polls.claim_round(poll):
                continue
            if poll.status == "open":
                await self.close(poll)
            opened += await self._next_round(poll) is not None
        return opened

    async def _next_round(self, poll: Poll) -> Poll | None:
        assert poll.every is not None and poll.series_id is not None
        first = await self.repos.polls.by_id(poll.series_id)
        if first is None:
            return None
        zone = ZoneInfo(poll.timezone)
        start = self.clock.now()
        origin = first.created_at.astimezone(zone).replace(microsecond=0)
        following = self._after(poll.every, origin, start.astimezone(zone))
        length = (poll.closes_at - poll.created_at) if poll.closes_at else None
        closes = start + length if length is not None else following
        if following is not None and closes is not None and closes > following:
            closes = following
        made = Poll(
            coalition_id=poll.coalition_id,
            kind=poll.kind,
            question=poll.question,
            options=poll.options,
            max_choices=poll.max_choices,
            anonymous=poll.anonymous,
            public=poll.public,
            hidden=poll.hidden,
            allow_change=poll.allow_change,
            eligible=list(poll.eligible),
            timezone=poll.timezone,
            channel_ids=list(poll.channel_ids),
            closes_at=closes,
            created_by=poll.created_by,
            created_at=start,
            language=poll.language,
            second=poll.second,
            open_options=poll.open_options,
            every=poll.every,
            series_id=poll.series_id,
            round=poll.round + 1,
            next_round_at=following,
        )
        made = await self.repos.polls.add(made)
        await self._open(made, await self.channels_of(made))
        return made

    async def stop_series(self, poll: PollView) -> bool:
        """No more rounds: the series' newest round runs to its close. False if it does not repeat."""
        if poll.series_id is None:
            return False
        latest = await self.repos.polls.latest_round(poll.series_id)
        if latest is None or latest.next_round_at is None:
            return False
        latest.next_round_at = None
        await self.repos.polls.save(latest)
        return True

    async def previous_round(self, poll: Poll) -> Poll | None:
        if poll.series_id is None or poll.round <= 1:
            return None
        return await self.repos.polls.round_of(poll.series_id, poll.round - 1)

    # Finding and listing ------------------------------------------------------------------

    async def find(self, coalition_id: int, poll_id: int) -> PollView | None:
        return await self.repos.polls.get(coalition_id, poll_id)

    async def recent(self, coalition_id: int, limit: int = 15, open_only: bool = False) -> Sequence[PollView]:
        return await self.repos.polls.recent(coalition_id, limit, open_only)

    async def shown_voters(self, polls: Sequence[PollView]) -> dict[int, int | None]:
        """How many voted, as members may see it: exact for a poll that is not anonymous; for an
        anonymous one what `shown_results` shows (None: not shown, hidden or too few)."""
        exact = await self.repos.polls.voter_counts([p.id or 0 for p in polls if not p.anonymous])
        shown: dict[int, int | None] = {}
        for poll in polls:
            if poll.anonymous:
                results = await self.shown_results(poll) if not poll.kind.is_survey else None
                shown[poll.id or 0] = results.voters if results is not None else None
            else:
                shown[poll.id or 0] = exact.get(poll.id or 0, 0)
        return shown

    async def has_answered(self, poll: PollView, member: MemberView) -> bool:
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        key = await self.voter_key(poll, member)
        if poll.kind.is_survey:
            return await self.surveys.has_answered(poll, key)
        return await self.repos.polls.ballot(poll.id or 0, key) is not None

    async def became_meeting(self, poll: PollView, meeting_id: int) -> None:
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        poll.meeting_id = meeting_id
        await self.repos.polls.save(poll)

    @staticmethod
    def _key(poll: Poll, part: str) -> str:
        return f"{SOURCE}:{poll.id}:{part}"

    # Voting --------------------------------------------------------------------------------

    async def keys_of(self, poll: PollView) -> PollKeys | None:
        """A sealed poll's keys, while it is open; None for a named poll, a closed one, or one made
        before ballots were sealed."""
        if not poll.anonymous or poll.id is None:
            return None
        if poll.id not in self._keys:
            wrapped = await self.repos.polls.keys(poll.id)
            self._keys[poll.id] = unwrap(wrapped, self.secret, poll.id) if wrapped else None
        return self._keys[poll.id]

    async def voter_key(self, poll: PollView, member: MemberView | MemberAddress) -> str:
        if poll.anonymous:
            keys = await self.keys_of(poll)
            if keys is not None:
                return keys.voter_key(member.ballot_salt or member.id)
            return keyed_hash(self.secret, "ballot", poll.id, member.ballot_salt or member.id)
        return f"member:{member.id}"

    async def _opened(self, poll: Poll, stored: str) -> list[int]:
        keys = await self.keys_of(poll)
        return parse_choices(keys.open(stored) if keys is not None else stored)

    def is_eligible(self, poll: PollView, member: MemberView | MemberAddress) -> bool:
        wanted = set(poll.eligible)
        if not wanted:
            return True
        return member.role in wanted or (member.sector or "").lower() in wanted

    def check_open(self, poll: Poll) -> None:
        """Refuse once the poll is closed, or past its deadline even if the scheduler has not run yet."""
        now = self.clock.now()
        closed = (
            poll.closed_at
            if poll.status != "open"
            else poll.closes_at
            if poll.closes_at and poll.closes_at <= now
            else None
        )
        if poll.status != "open" or closed is not None:
            raise PollProblem(
                _("Poll #{id} closed {timestamp}; votes are no longer taken.").format(
                    id=poll.id, timestamp=timestamp(closed or now, "R")
                )
            )

    async def ballot_of(self, poll: PollView, member: MemberView) -> list[int] | None:
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        assert poll.id is not None
        ballot = await self.repos.polls.ballot(poll.id, await self.voter_key(poll, member))
        return await self._opened(poll, ballot.choices) if ballot else None

    async def vote(self, poll: PollView, member: MemberView, choices: list[int]) -> list[int]:
        """Record this member's choices (in rank order for ranked polls), replacing an earlier ballot."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        assert poll.id is not None
        self.check_open(poll)
        if not self.is_eligible(poll, member):
            raise PollProblem(
                _("Poll #{id} is only for: {poll}. Your vote was not recorded.").format(
                    id=poll.id, poll=cards.describe_eligible(poll)
                )
            )
        count = len(poll.option_list)
        if any(not 0 <= c < count for c in choices):
            raise PollProblem(_("Poll #{id} has options 1 to {count}.").format(id=poll.id, count=count))
        if len(set(choices)) != len(choices):
            raise PollProblem(_("Each option can be chosen only once."))
        if not choices:
            raise PollProblem(_("Choose at least one option."))
        if poll.kind is PollKind.SINGLE and len(choices) > 1:
            raise PollProblem(_("Poll #{id} takes one choice.").format(id=poll.id))
        if poll.kind is PollKind.MULTIPLE and poll.max_choices and len(choices) > poll.max_choices:
            raise PollProblem(
                _("Poll #{id} takes at most {max_choices} choices; you chose {choices}.").format(
                    id=poll.id, max_choices=poll.max_choices, choices=len(choices)
                )
            )
        key = await self.voter_key(poll, member)
        if not poll.allow_change:
            existing = await self.repos.polls.ballot(poll.id, key)
            if existing is not None and await self._opened(poll, existing.choices) == choices:
                return choices
            if existing is not None:
                raise PollProblem(
                    _("Poll #{id} does not allow changing a vote, and yours is already recorded.").format(id=poll.id)
                )
        stored = ",".join(str(c) for c in choices)
        keys = await self.keys_of(poll)
        if keys is not None:
            self._votes.setdefault(poll.id, {})[key] = stored
        self.repos.polls.put_ballot(
            poll.id,
            key,
            None if poll.anonymous else member.id,
            keys.seal(stored) if keys is not None else stored,
            None if poll.anonymous else self.clock.now(),
        )
        self._refresh_later(poll)
        return choices

    async def rank(self, poll: PollView, member: MemberView, position: int, option: int) -> list[int]:
        """Put `option` at `position` (from 0) of this member's ranking, moving it if ranked elsewhere.
        Setting the same place twice gives the same ranking, so a repeated click changes nothing."""
        ranking = await self.ballot_of(poll, member) or []
        ranking = [c for c in ranking if c != option]
        ranking.insert(min(position, len(ranking)), option)
        return await self.vote(poll, member, ranking)

    # Open forums: members add options, coordinators remove them ----------------------------

    async def add_option(self, poll: PollView, member: MemberView, option: str) -> int:
        """An option added to an open forum's poll (`--open`) by any member who may vote in it;
        its number (from 0). Shown in both languages as written, where the poll has two."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        self.check_open(poll)
        if not poll.open_options:
            raise PollProblem(
                _("Poll #{id} does not take new options; its creator can make one that does with --open.").format(
                    id=poll.id
                )
            )
        if not self.is_eligible(poll, member) or member.role == Role.OBSERVER:
            raise PollProblem(_("Only members who may vote in poll #{id} can add an option.").format(id=poll.id))
        option = " ".join(option.split())
        if not option:
            raise PollProblem(_("Give the option's text."))
        labels = poll.option_list
        if len(labels) >= MAX_OPTIONS:
            raise PollProblem(
                _("Poll #{id} already has {count} options, the most a poll can have.").format(
                    id=poll.id, count=MAX_OPTIONS
                )
            )
        if fold(option) in {fold(label) for label in labels}:
            raise PollProblem(_("Poll #{id} already has the option '{option}'.").format(id=poll.id, option=option))
        poll.options = json.dumps([*labels, option])
        other = second_version(poll)
        if other is not None and other[1].get("options") is not None:
            set_second(poll, other[0], {**other[1], "options": [*other[1]["options"], option]})
        await self.repos.polls.save(poll)
        self._refresh_now(poll)
        return len(labels)

    async def remove_option(self, poll: PollView, index: int) -> tuple[int, list[int]]:
        """Take an option out (a coordinator, audited). Every ballot that chose it loses that choice
        (a ballot left empty is deleted: the vote is returned) and the later options move up one.
        Returns how many ballots had chosen it and, for a named poll, whose they were."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        self.check_open(poll)
        labels = poll.option_list
        if not 0 <= index < len(labels):
            raise PollProblem(_("Poll #{id} has options 1 to {count}.").format(id=poll.id, count=len(labels)))
        if len(labels) <= MIN_OPTIONS:
            raise PollProblem(
                _("Poll #{id} has only {count} options; a poll keeps at least {count}.").format(
                    id=poll.id, count=MIN_OPTIONS
                )
            )
        assert poll.id is not None
        keys = await self.keys_of(poll)
        if keys is not None:
            stored = {k: keys.open(c) for k, c in await self.repos.polls.sealed_ballots(poll.id)}
            members: dict[str, int | None] = dict.fromkeys(stored)
            cast: dict[str, datetime | None] = dict.fromkeys(stored)
        else:
            named = await self.repos.polls.named_ballots(poll.id)
            stored = {b.voter_key: b.choices for b, _m in named}
            members = {b.voter_key: b.member_id for b, _m in named}
            cast = {b.voter_key: b.cast_at for b, _m in named}
        changed, voters = 0, []
        for voter, choices in stored.items():
            before = parse_choices(choices)
            if index not in before:
                if any(c > index for c in before):  # the same choices, renumbered
                    after = ",".join(str(c - 1 if c > index else c) for c in before)
                    self._put(poll, voter, members[voter], after, cast[voter], keys)
                continue
            changed += 1
            if members[voter] is not None:
                voters.append(members[voter] or 0)
            after = ",".join(str(c - 1 if c > index else c) for c in before if c != index)
            if after:
                self._put(poll, voter, members[voter], after, cast[voter], keys)
            else:
                await self.repos.polls.delete_ballot(poll.id, voter)
        poll.options = json.dumps(labels[:index] + labels[index + 1 :])
        other = second_version(poll)
        if other is not None and other[1].get("options") is not None:
            kept = [o for n, o in enumerate(other[1]["options"]) if n != index]
            set_second(poll, other[0], {**other[1], "options": kept})
        if poll.shown_tally is not None:
            poll.shown_tally = None  # retaken at the next step, on the new numbering
        await self.repos.polls.save(poll)
        self.tallies.forget(poll.id)  # rebuilt from the ballots at the next count
        self._votes.pop(poll.id, None)
        self._rebuilt.pop(poll.id, None)
        self._refresh_now(poll)
        return changed, voters

    async def tell_removed(self, poll: PollView, removed: str, voters: list[int]) -> int:
        """A private note that an option was removed and the votes for it returned. A named poll's
        voters for it are told; in an anonymous poll nobody knows who they were, so every member
        who may vote is told, and being told says nothing of how one voted."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        members = [m for m in await self.repos.broadcasts.members(poll.coalition_id) if m.role != Role.OBSERVER]
        if poll.anonymous:
            told = [m for m in members if self.is_eligible(poll, m)]
        else:
            wanted = set(voters)
            told = [m for m in members if m.id in wanted]

        def note() -> Reply:
            said = (
                _(
                    "A coordinator removed the option '{option}' from poll #{id}. If you had voted for it, that "
                    "vote was returned: vote again with `/poll vote {id} ...`."
                )
                if poll.anonymous
                else _(
                    "A coordinator removed the option '{option}' from poll #{id}; your vote for it was returned. "
                    "Vote again with `/poll vote {id} ...`."
                )
            )
            return Reply(said.format(option=user_text(removed), id=poll.id), private=True)

        stamp = hashlib.sha256(removed.encode()).hexdigest()[:12]
        return await self.outbox.to_members(
            told, note, key_prefix=self._key(poll, f"removed:{stamp}:"), source=SOURCE, source_id=poll.id
        )

    def _put(
        self,
        poll: Poll,
        voter: str,
        member_id: int | None,
        choices: str,
        cast_at: datetime | None,
        keys: PollKeys | None,
    ) -> None:
        self.repos.polls.put_ballot(
            poll.id or 0, voter, member_id, keys.seal(choices) if keys is not None else choices, cast_at
        )

    def _refresh_now(self, poll: Poll) -> None:
        """Redraw the cards even where an anonymous poll's count is stepped or hidden: what changed
        is the options, which every member may see."""
        self.outbox.once_before_commit(f"poll-options:{poll.id}", lambda: self._redraw(poll))

    # Counting ------------------------------------------------------------------------------

    async def results(self, poll: Poll, *, exact: bool = False) -> Results:
        """The count now. An open anonymous poll is counted from this process's memory unless
        `exact` (the final count), which opens every ballot."""
        assert poll.id is not None
        if poll.final_tally is not None:
            return _results_from_json(poll.final_tally)
        keys = await self.keys_of(poll)
        if keys is not None:
            if exact:
                opened = Counter(keys.open(c) for c in await self.repos.polls.all_choices(poll.id))
            else:
                opened = await self._sealed_groups(poll, keys)
            groups = [(parse_choices(c), n) for c, n in opened.items()]
        else:
            # Kept counts for named polls; an anonymous one made before ballots were sealed is counted.
            stored = await (self.repos.polls.choices if poll.anonymous else self.repos.polls.tallies)(poll.id)
            groups = [(parse_choices(c), n) for c, n in stored]
        groups = [(b, n) for b, n in groups if b]
        voters = sum(n for _, n in groups)
        count = len(poll.option_list)
        if poll.kind.ranked:
            rounds, winners = instant_runoff([b for b, n in groups for _ in range(n)], count, seed=poll.id)
            first = Counter({i: sum(n for b, n in groups if b[0] == i) for i in range(count)})
            return Results(voters, [first[i] for i in range(count)], winners, rounds)
        tally: Counter[int] = Counter()
        for ballot, n in groups:
            for choice in ballot:
                tally[choice] += n
        counts = [tally[i] for i in range(count)]
        top = max(counts) if counts else 0
        winners = [i for i, n in enumerate(counts) if n == top] if top else []
        return Results(voters, counts, winners)

    async def _sealed_groups(self, poll: Poll, keys: PollKeys) -> Counter[str]:
        """How many ballots hold each set of choices in an open anonymous poll, from memory. The
        memory is checked against the number of ballots stored and the options it was counted
        for, and rebuilt (every ballot opened once) when either differs: after a restart, when
        another process took votes, or removed an option (the ballots were renumbered)."""
        poll_id = poll.id or 0
        stored = await self.repos.polls.ballot_count(poll_id)
        base = self._rebuilt.get(poll_id) or self.tallies.get(poll_id)
        if base is not None and base.options == poll.options:
            voters, groups = base.with_changes(self._votes.get(poll_id, {}))
            if voters == stored:
                return groups
        # Read in this transaction, so with its own votes: kept for this transaction until it commits.
        opened = {k: keys.open(c) for k, c in await self.repos.polls.sealed_ballots(poll_id)}
        self._rebuilt[poll_id] = SealedTally.of(opened, poll.options)
        return Counter(self._rebuilt[poll_id].groups)

    async def _voters(self, poll: Poll) -> int:
        """How many have voted: from this process's memory where it holds the poll (checked against
        the ballots stored when a count is taken), else counted in the database."""
        base = self._rebuilt.get(poll.id or 0) or self.tallies.get(poll.id or 0)
        if base is not None:
            return base.with_changes(self._votes.get(poll.id or 0, {}))[0]
        return await self.repos.polls.ballot_count(poll.id or 0)

    def committed(self) -> None:
        """The transaction is committed: its votes, and any count rebuilt in it, are now the truth."""
        for poll_id, rebuilt in self._rebuilt.items():
            self.tallies.install(poll_id, rebuilt)
        for poll_id, votes in self._votes.items():
            if (tally := self.tallies.get(poll_id)) is not None:
                for key, choices in votes.items():
                    tally.put(key, choices)
        self._rebuilt, self._votes = {}, {}

    async def shown_results(self, poll: PollView) -> Results | None:
        """The count members may see, wherever it is shown (card, results, list, home, digest, public
        page, export): the one place an anonymous poll's figures are decided. Hidden until close
        (the default), nothing, not even how many voted; with --live, counts once STEP have voted,
        moving only in steps of STEP new voters, so that nobody who watches who clicks when can read
        a choice off them; closed, the final count from STEP voters. None: no count to show."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        if not poll.anonymous:
            return await self.results(poll)
        if poll.status == "open" and poll.hidden:
            return None
        if poll.status == "closed":
            final = await self.results(poll)
            return final if final.voters >= cards.STEP else None
        if poll.shown_tally is None:
            return None
        data = json.loads(poll.shown_tally)
        return Results(data["voters"], data["counts"], data["winners"])

    async def _step(self, poll: Poll) -> bool:
        """An open anonymous poll: take a new count to show once STEP new voters have come since
        the last one. True when the cards should be redrawn."""
        shown = json.loads(poll.shown_tally)["voters"] if poll.shown_tally else 0
        if await self._voters(poll) - shown < cards.STEP:
            return False  # counted without opening a single ballot
        live = await self.results(poll)
        poll.shown_tally = json.dumps({"voters": live.voters, "counts": live.counts, "winners": live.winners})
        await self.repos.polls.save(poll)
        return True

    async def card(self, poll: PollView) -> Reply:
        """The poll's card as it stands, counted now."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        if poll.kind.is_survey:
            return await self.surveys.card(poll)
        return cards.poll_card(poll, await self.shown_results(poll), self.clock.now())

    async def channels_of(self, poll: PollView) -> list[Channel]:
        wanted = set(poll.channel_ids)
        return [c for c in await self.repos.coalitions.channels(poll.coalition_id) if c.id in wanted]

    def _refresh_later(self, poll: Poll) -> None:
        self.outbox.once_before_commit(f"poll-cards:{poll.id}", lambda: self.refresh_cards(poll))

    async def answer_survey(self, poll: PollView, member: MemberView, answers: dict[int, int]) -> list[int]:
        """Record a respondent's answers (question index to 1..5); their answers so far."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        self.check_open(poll)
        key, keys = await self.voter_key(poll, member), await self.keys_of(poll)
        current = await self.surveys.answer(poll, member, key, answers, keys)
        self._refresh_later(poll)
        return current

    async def refresh_cards(self, poll: Poll) -> None:
        """Bring every posted copy up to date; bursts coalesce into about one edit a second. An open
        anonymous poll's cards change only in steps of STEP new voters."""
        if poll.anonymous and poll.status == "open" and (poll.hidden or not await self._step(poll)):
            return  # nothing shown on the card has changed (hidden until close, or between steps)
        await self._redraw(poll)

    async def _redraw(self, poll: Poll) -> None:
        """Edit every posted copy of the card to the card as it is now."""
        for channel, card in await self.outbox.for_channels(await self.channels_of(poll), lambda: self.card(poll)):
            posted = await self.repos.outbox.by_key(self._key(poll, f"post:{channel.id}"))
            if posted is not None:
                await self.outbox.edit(posted, card, key=self._key(poll, f"post-edit:{channel.id}"))

    async def set_public(self, poll: PollView, public: bool) -> None:
        """Whether the coalition's public page shows the poll (and its results, once closed)."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        poll.public = public
        await self.repos.polls.save(poll)

    # Closing -------------------------------------------------------------------------------

    async def close(self, poll: PollView) -> bool:
        """Close the poll and post its results in every channel it was posted in, once: False when
        it was already closed (a deadline and a coordinator, or two processes, racing)."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        if not await self.repos.polls.close(poll, self.clock.now()):
            return False
        keys = await self.keys_of(poll)
        if keys is not None:
            # Sealed: the final count is written once; the ballots (or answers) and their keys go.
            if poll.kind.is_survey:
                final = survey_results_to_json(await self.surveys.results(poll, keys))
            else:
                final = _results_to_json(await self.results(poll, exact=True))
            await self.repos.polls.seal_final(poll, final)
            self._keys[poll.id or 0] = None
            self.tallies.forget(poll.id or 0)
            self._votes.pop(poll.id or 0, None)
            self._rebuilt.pop(poll.id or 0, None)
        await self.refresh_cards(poll)
        channels = await self.channels_of(poll)
        for channel, said in await self.outbox.for_channels(channels, lambda: self.final_results(poll)):
            await self.outbox.to(
                channel,
                said,
                key=self._key(poll, f"results:{channel.id}"),
                source=SOURCE,
                source_id=poll.id,
            )
        return True

    async def final_results(self, poll: Poll) -> Reply:
        assert poll.id is not None
        if poll.kind.is_survey:
            return cards.final_survey_results(poll, await self.surveys.results(poll, await self.keys_of(poll)))
        results = await self.shown_results(poll)
        return cards.final_poll_results(poll, results, await self._change(poll, results))

    async def _change(self, poll: Poll, results: Results | None) -> cards.Change | None:
        """A repeating poll's counts against the round before, by option (as labelled), where both
        counts may be shown. For an anonymous poll, only when the number of voters moved by none or
        by STEP or more: a change of one or two voters would give those voters' choices away."""
        previous = await self.previous_round(poll)
        if results is None or previous is None or previous.status != "closed":
            return None
        before = await self.shown_results(previous)
        if before is None:
            return None
        moved = abs(results.voters - before.voters)
        if poll.anonymous and 0 < moved < cards.STEP:
            return None
        earlier = dict(zip(previous.option_list, before.counts, strict=False))
        return cards.Change(previous.round, {n: earlier.get(label) for n, label in enumerate(poll.option_list)})

    async def next_due(self) -> datetime | None:
        """When a poll next closes by its deadline, or a repeating poll's next round opens."""
        times = [await self.repos.polls.next_deadline(), await self.repos.polls.next_round()]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    async def close_due(self, now: datetime) -> int:
        closed = 0
        for poll in await self.repos.polls.due(now):
            if await self.close(poll):
                closed += 1
        return closed

    # Reminding and exporting ---------------------------------------------------------------

    async def remind(self, poll: PollView, requester: MemberView) -> None:
        """Ask for a private reminder to eligible members who have not voted; at most once an hour
        per poll. The reminders are queued a slice at a time afterwards (FanoutService), and the
        requester is told how many went out; nobody is shown who they were."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        assert poll.id is not None
        self.check_open(poll)
        now = self.clock.now()
        if poll.last_remind_at is not None and now < poll.last_remind_at + REMIND_EVERY:
            raise PollProblem(
                _("Members were reminded {last}; you can remind them again {next}.").format(
                    last=timestamp(poll.last_remind_at, "R"), next=timestamp(poll.last_remind_at + REMIND_EVERY, "R")
                )
            )
        await self.repos.fanouts.ask(poll.coalition_id, SOURCE, poll.id, requester.id, now)
        poll.last_remind_at = now
        await self.repos.polls.save(poll)

    async def remind_some(self, poll: Poll, stamp: int, members: Sequence[MemberAddress]) -> int | None:
        """Queue the reminder to those of `members` who can vote in the poll and have not (for an
        anonymous poll, found by recomputing each one's keyed hash); None once the poll has closed."""
        assert poll.id is not None
        try:
            self.check_open(poll)
        except PollProblem:
            return None
        keys = {m.id: await self.voter_key(poll, m) for m in members}
        voted = await self.repos.polls.voted_among(poll.id, list(keys.values()), survey=poll.kind.is_survey)
        waiting = [
            m for m in members if m.role != Role.OBSERVER and self.is_eligible(poll, m) and keys[m.id] not in voted
        ]

        def reminder() -> Reply:
            card = cards.ballot_card(poll)
            closes = _(" It closes {when}.").format(when=timestamp(poll.closes_at, "R")) if poll.closes_at else ""
            if poll.kind.is_survey:
                intro = _("🗳️ A reminder: you have not answered survey #{id} yet.{closes}")
            else:
                intro = _("🗳️ A reminder: you have not voted in poll #{id} yet.{closes}")
            intro = intro.format(id=poll.id, closes=closes)
            return Reply(text=f"{intro}\n{card.text}", blocks=(Section(intro), *card.blocks), private=True)

        return await self.outbox.to_members(
            waiting, reminder, key_prefix=self._key(poll, f"remind:{stamp}:"), source=SOURCE, source_id=poll.id
        )

    async def export_csv(self, poll: PollView) -> list[tuple[str, bytes]]:
        """One rectangular table per file (one header row, one kind of row): the counts; the rounds
        of a ranked poll; one row per voter only when the poll is not anonymous."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        assert poll.id is not None
        if poll.kind.is_survey:
            return await self.surveys.export_csv(poll, await self.keys_of(poll))
        shown = await self.shown_results(poll)
        results = shown or Results(0, [0] * len(poll.option_list), [])
        counted = "first choices" if poll.kind.ranked else "votes"  # untranslated: CSV columns stay put
        files = [
            (
                f"poll-{poll.id}-results.csv",
                table(
                    ["poll", "question", "status", "voters", "option", "label", counted],
                    [
                        [
                            poll.id,
                            cell(poll.question),
                            poll.status,
                            results.voters if shown else "",  # too few voters: no count, as on the card
                            i + 1,
                            cell(cards.label(poll, i, plain=True)),
                            n if shown else "",
                        ]
                        for i, n in enumerate(results.counts)
                    ],
                ),
            )
        ]
        if poll.kind.ranked:
            rounds = [
                [
                    r,
                    option + 1,
                    cell(cards.label(poll, option, plain=True)),
                    n,
                    "yes" if option in rnd.eliminated else "no",
                ]
                for r, rnd in enumerate(results.rounds, 1)
                for option, n in rnd.counts.items()
            ]
            files.append(
                (f"poll-{poll.id}-rounds.csv", table(["round", "option", "label", "votes", "eliminated"], rounds))
            )
        if not poll.anonymous:
            voters = []
            for ballot, member in await self.repos.polls.named_ballots(poll.id):
                name = (member.display_name or member.user_id) if member else _("a former member")
                picked = " > " if poll.kind.ranked else "; "
                labels = picked.join(cards.label(poll, c, plain=True) for c in parse_choices(ballot.choices))
                when = ballot.cast_at.isoformat() if ballot.cast_at else ""
                voters.append([cell(name), member.platform if member else "", cell(labels), when])
            files.append((f"poll-{poll.id}-voters.csv", table(["voter", "platform", "choices", "time (UTC)"], voters)))
        return files


def _results_to_json(results: Results) -> str:
    rounds = [
        {
            "counts": {str(k): v for k, v in r.counts.items()},
            "exhausted": r.exhausted,
            "eliminated": list(r.eliminated),
            "tied": list(r.tied),
            "decided_by": r.decided_by,
        }
        for r in results.rounds
    ]
    return json.dumps(
        {"voters": results.voters, "counts": results.counts, "winners": results.winners, "rounds": rounds}
    )


def _results_from_json(stored: str) -> Results:
    data = json.loads(stored)
    rounds = [
        Round(
            {int(k): v for k, v in r["counts"].items()},
            r["exhausted"],
            tuple(r["eliminated"]),
            tuple(r.get("tied", ())),
            r.get("decided_by", ""),
        )
        for r in data.get("rounds", [])
    ]
    return Results(data["voters"], data["counts"], data["winners"], rounds)
