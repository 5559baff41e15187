"""Meetings: scheduling (with recurrence), RSVPs with live counts, reminders, cancelling, calendars.

A series' meetings exist HORIZON ahead (and at least one still to come), each with its reminder
rows, so every lead time fires; the next one is announced, and when it starts the one after is
announced and the horizon moves on (`materialize_due`), so nothing is generated without bound. Reminders
are rows too; when one falls due its messages are written to the outbox in the same transaction
that marks it sent, so it goes out once, after restarts too. One that fell due while the bot was
down goes out at start-up if it is at most REMINDER_GRACE late, and is recorded as missed otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from bot.bilingual import set_second, shown_language, the_other, version
from bot.clock import Clock
from bot.i18n import LANGUAGES, N_, _, language, speaking
from bot.markup import format_day, timestamp, user_text
from bot.permissions import Role
from bot.problems import Problem
from bot.recurrence import RecurrenceProblem, recurrence_rule
from bot.recurrence import describe as describe_rule
from bot.replies import Actions, Button, Context, Reply, Section, action_id
from bot.services.outbox import Outbox
from bot.times import TimeProblem, parse_duration
from bot.views import ActionItemView, ChannelView, CoalitionView, MeetingView, MemberView, OccurrenceView
from storage import Repositories
from storage.engagement import day_of
from storage.kinds import RsvpAnswer
from storage.models import ActionItem, Channel, Coalition, Meeting, Member, Occurrence, Reminder

SOURCE = "meeting"
REMINDER_OFFSETS = (timedelta(hours=24), timedelta(hours=1))
REMINDER_GRACE = timedelta(hours=2)
HORIZON = timedelta(days=15)  # a series' meetings exist this far ahead: past the longest lead time (14 days)
MAX_AHEAD = 400  # meetings made in one go, at most (a daily series over HORIZON is 15)
# Shown through _(); keyed by RsvpAnswer, which is the text it is stored as.
ANSWERS: dict[str, str] = {RsvpAnswer.GOING: N_("Going"), RsvpAnswer.MAYBE: N_("Maybe"), RsvpAnswer.NO: N_("Can't go")}

if TYPE_CHECKING:
    from icalendar import Event


class MeetingProblem(Problem):
    """The meeting cannot be scheduled or changed as asked; the message says why."""


@dataclass(frozen=True)
class Tally:
    counts: Counter[str]
    names: dict[str, list[str]]  # answer -> the first CARD_NAMES members to give it


CARD_NAMES = 8  # names shown beside each count on a meeting card


class MeetingService:
    def __init__(self, repos: Repositories, outbox: Outbox, clock: Clock) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock
        self._found: dict[tuple[int, int], tuple[Occurrence, Meeting] | None] = {}

    # Scheduling --------------------------------------------------------------------------------

    async def schedule(
        self,
        coalition_id: int,
        author: MemberView,
        title: str,
        start: datetime,
        zone: ZoneInfo,
        duration: timedelta,
        location: str | None,
        agenda: str | None,
        every: str | None,
        channels: Sequence[ChannelView],
        private: bool = False,
        second: tuple[str, list[str]] | None = None,
    ) -> tuple[MeetingView, OccurrenceView]:
        """`second`: (language, [title, place, agenda]) in the other language; place and agenda
        may be left out."""
        if second is not None and not 1 <= len(second[1]) <= 3:
            raise MeetingProblem(
                _("--{code} takes the title, then the place and the agenda if they have one, apart with |.").format(
                    code=second[0]
                )
            )
        local = start.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        try:
            rule = recurrence_rule(every, local, zone)
        except RecurrenceProblem as exc:
            raise MeetingProblem(str(exc)) from exc
        if rule is not None:
            # Calendars count DTSTART as the first meeting even where the rule would not give it;
            # starting the series at the rule's first date keeps the bot and every calendar agreed.
            aware = local.replace(tzinfo=zone)
            first = rrulestr(rule, dtstart=aware).after(aware - timedelta(seconds=1), inc=True)
            local = first.replace(tzinfo=None)
        meeting = Meeting(
            coalition_id=coalition_id,
            title=title,
            location=location,
            agenda=agenda,
            timezone=zone.key,
            local_start=local.isoformat(),
            rrule=rule,
            private=private,
            duration_minutes=int(duration.total_seconds() // 60),
            channel_ids=[c.id for c in channels if c.id is not None],
            created_by=author.id,
            created_at=self.clock.now(),
            language=language(),  # the author's, in force while their command runs
        )
        if second is not None:
            set_second(meeting, second[0], dict(zip(("title", "location", "agenda"), second[1], strict=False)))
        await self.repos.meetings.add(meeting)
        await self._extend(meeting)
        occurrence = await self._announce_next(meeting)
        assert occurrence is not None
        return meeting, occurrence

    def _starts(self, meeting: Meeting, after: datetime | None) -> datetime | None:
        """The first start (UTC) strictly after `after` (or the very first), in the series' own zone."""
        zone = ZoneInfo(meeting.timezone)
        local_start = datetime.fromisoformat(meeting.local_start).replace(tzinfo=zone)
        if meeting.rrule is None:
            first = local_start.astimezone(UTC)
            return first if after is None else None
        rule = rrulestr(meeting.rrule, dtstart=local_start)
        nxt = rule.after(after.astimezone(zone) if after else local_start - timedelta(seconds=1))
        # The rule keeps the wall-clock time; the offset is the zone's on that day.
        return nxt.replace(tzinfo=zone).astimezone(UTC) if nxt else None

    def starts_between(self, meeting: Meeting, begin: datetime, end: datetime) -> list[datetime]:
        """Every start the series' rule gives in [begin, end), as the bot will hold its meetings."""
        if meeting.rrule is None:
            first = self._starts(meeting, None)
            return [first] if first is not None and begin <= first < end else []
        found, cursor = [], begin - timedelta(seconds=1)
        while (start := self._starts(meeting, cursor)) is not None and start < end:
            if start >= begin:
                found.append(start)
            cursor = start
        return found

    async def _extend(self, meeting: Meeting) -> list[Occurrence]:
        """Make the series' meetings up to HORIZON ahead, with their reminder rows, and at least one
        still to come that is not cancelled: every lead time fires (up to the 14 days allowed, on a
        daily series too), and cancelling the next meeting never leaves the series without one."""
        assert meeting.id is not None
        existing = await self.repos.meetings.occurrences(meeting.id)
        now = self.clock.now()
        latest = max((o.original_start for o in existing), default=None)
        coming = sum(1 for o in existing if o.start > now and not o.cancelled)
        made = []
        for _attempt in range(MAX_AHEAD):
            start = self._starts(meeting, latest)
            if start is None or (start > now + HORIZON and coming > 0):
                break
            latest = start
            if start <= now and existing:
                continue  # a date that passed while the bot was down: not made after the fact
            occurrence = await self.repos.meetings.add_occurrence(
                Occurrence(meeting_id=meeting.id, original_start=start, start=start)
            )
            if occurrence is not None:
                await self._plan_reminders(meeting, occurrence)
                made.append(occurrence)
                coming += 1
        return made

    async def _announce_next(self, meeting: Meeting) -> Occurrence | None:
        """Post the card of the series' next meeting (once: the outbox keeps one row per key), and
        wake when it starts, to announce the one after, or when the next date not yet made comes
        within HORIZON, whichever is first."""
        assert meeting.id is not None
        now = self.clock.now()
        occurrences = await self.repos.meetings.occurrences(meeting.id)
        coming = [o for o in occurrences if o.start > now and not o.cancelled]
        nxt = min(coming, key=lambda o: o.start, default=None)
        if nxt is not None:
            await self._announce(meeting, nxt)
        wake = [nxt.start] if nxt is not None else []
        unmade = self._starts(meeting, max((o.original_start for o in occurrences), default=None))
        if unmade is not None and occurrences:
            wake.append(unmade - HORIZON)
        meeting.next_materialize_at = min(wake) if wake and meeting.rrule else None
        await self.repos.meetings.add(meeting)
        return nxt

    async def _plan_reminders(self, meeting: Meeting, occurrence: Occurrence) -> None:
        """The coalition's reminders (channel, and members on the default setting), the optional
        nudge, and the own reminders of members with their own lead times who said they'd come."""
        assert occurrence.id is not None
        coalition = await self.repos.coalitions.get(meeting.coalition_id)
        assert coalition is not None
        now = self.clock.now()
        await self._add_reminders(occurrence, coalition.reminder_minutes)
        nudge = timedelta(minutes=coalition.nudge_minutes) if coalition.nudge_minutes else None
        if nudge is not None and occurrence.start - nudge > now:
            await self.repos.meetings.add(
                Reminder(
                    occurrence_id=occurrence.id,
                    due_at=occurrence.start - nudge,
                    offset_minutes=coalition.nudge_minutes or 0,
                    kind="nudge",
                )
            )
        for rsvp, member in await self.repos.meetings.rsvps(occurrence.id):
            if member is not None and rsvp.answer.coming:
                await self._plan_member(occurrence, member)

    async def _plan_member(self, occurrence: Occurrence, member: Member) -> None:
        """A member with their own lead times gets their own reminder rows (none when "off")."""
        assert occurrence.id is not None and member.id is not None
        await self.repos.meetings.cancel_member_reminders(occurrence.id, member.id)
        if not member.reminder_minutes:
            return
        await self._add_reminders(occurrence, member.reminder_minutes, member.id)

    async def _add_reminders(self, occurrence: Occurrence, minutes: list[int], member_id: int | None = None) -> None:
        """A reminder row per lead time still ahead: the coalition's, or one member's own."""
        assert occurrence.id is not None
        now = self.clock.now()
        for offset in lead_times(minutes):
            if occurrence.start - offset > now:
                await self.repos.meetings.add(
                    Reminder(
                        occurrence_id=occurrence.id,
                        due_at=occurrence.start - offset,
                        offset_minutes=int(offset.total_seconds() // 60),
                        member_id=member_id,
                    )
                )

    async def reminder_counts(self) -> dict[str, int]:
        """Reminders by status (pending, sent, missed), for the metrics."""
        return await self.repos.meetings.reminder_counts()

    async def next_due(self) -> datetime | None:
        """When the scheduler next has meeting work: a reminder to send, or dates of a series to make."""
        times = [await self.repos.meetings.next_reminder(), await self.repos.meetings.next_materialize()]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    async def materialize_due(self, now: datetime) -> int:
        """For every series whose next meeting has started: make the dates now within reach and
        announce the next meeting."""
        made = 0
        for meeting in await self.repos.meetings.to_materialize(now):
            made += len(await self._extend(meeting))
            await self._announce_next(meeting)
        return made

    # Announcements and RSVPs -----------------------------------------------------------------

    async def channels_of(self, meeting: Meeting) -> list[Channel]:
        wanted = set(meeting.channel_ids)
        return [c for c in await self.repos.coalitions.channels(meeting.coalition_id) if c.id in wanted]

    # Finding and listing ------------------------------------------------------------------

    async def series(self, meeting_id: int) -> MeetingView | None:
        """A meeting or series by its own id (the row behind its occurrences)."""
        return await self.repos.meetings.meeting(meeting_id)

    async def occurrence_of(
        self, coalition_id: int, meeting_id: int, *, on: date | None = None, zone: ZoneInfo, started: bool = False
    ) -> tuple[OccurrenceView, MeetingView]:
        """A meeting as members name it: its number, and for a series the date (`on`, as `zone`
        shows it). Without a date: the next one not yet over and not cancelled (`started`: the
        latest that has begun, for minutes and attendance), or the last there was."""
        meeting = await self.repos.meetings.meeting(meeting_id)
        if meeting is None or meeting.coalition_id != coalition_id:
            raise MeetingProblem(
                _("There is no meeting #{meeting_id}. `/meeting list` shows the upcoming ones.").format(
                    meeting_id=meeting_id
                )
            )
        occurrences = await self.repos.meetings.occurrences(meeting_id)
        if not occurrences:
            raise MeetingProblem(_("Meeting #{meeting_id} has no dates left.").format(meeting_id=meeting_id))
        now, length = self.clock.now(), timedelta(minutes=meeting.duration_minutes)
        if on is not None:
            zones = (zone, ZoneInfo(meeting.timezone))
            for occurrence in occurrences:
                days = {s.astimezone(z).date() for s in (occurrence.start, occurrence.original_start) for z in zones}
                if on in days:
                    return occurrence, meeting
            coming = [o for o in occurrences if o.start > now and not o.cancelled][:3]
            listed = ", ".join(format_day(o.start.astimezone(zone)) for o in coming) or _("none")
            raise MeetingProblem(
                _("Meeting #{meeting_id} has no date on {day}; its next dates: {listed}.").format(
                    meeting_id=meeting_id, day=format_day(on), listed=listed
                )
            )
        if started:
            begun = [o for o in occurrences if o.start <= now and not o.cancelled]
            if begun:
                return begun[-1], meeting
        ahead = [o for o in occurrences if o.start + length > now and not o.cancelled]
        return (ahead[0] if ahead else occurrences[-1]), meeting

    async def find(self, coalition_id: int, occurrence_id: int) -> tuple[OccurrenceView, MeetingView] | None:
        """A date by its own id (what buttons carry). Looked up once per transaction: a burst of
        RSVP clicks written together asks for the same meeting hundreds of times."""
        key = (coalition_id, occurrence_id)
        if key not in self._found:
            self._found[key] = await self.repos.meetings.occurrence(coalition_id, occurrence_id)
        return self._found[key]

    async def upcoming(
        self, coalition_id: int, after: datetime, limit: int
    ) -> Sequence[tuple[OccurrenceView, MeetingView]]:
        return await self.repos.meetings.upcoming(coalition_id, after, limit)

    async def answer_counts(self, occurrence_ids: list[int]) -> dict[int, dict[str, int]]:
        return await self.repos.meetings.answer_counts(occurrence_ids)

    async def going(self, occurrence: OccurrenceView) -> Sequence[MemberView]:
        return [m for r, m in await self.repos.meetings.rsvps(occurrence.id or 0) if m and r.answer is RsvpAnswer.GOING]

    async def answer_of(self, occurrence: OccurrenceView, member: MemberView) -> RsvpAnswer | None:
        rsvps = await self.repos.meetings.rsvps(occurrence.id or 0)
        return next((r.answer for r, m in rsvps if m and m.id == member.id), None)

    async def open_action_items(
        self, coalition_id: int, owner_id: int | None
    ) -> Sequence[tuple[ActionItemView, MemberView | None]]:
        return await self.repos.meetings.action_items(coalition_id, owner_id, open_only=True)

    async def action_item(self, coalition_id: int, item_id: int) -> ActionItemView | None:
        return await self.repos.meetings.action_item(coalition_id, item_id)

    async def tally(self, occurrence: Occurrence) -> Tally:
        """Each answer's count, and the first few members who gave it (CARD_NAMES)."""
        assert occurrence.id is not None
        counts = Counter((await self.repos.meetings.answer_counts([occurrence.id])).get(occurrence.id, {}))
        names = {
            answer: [
                name if name is not None else _("a former member")
                for name in await self.repos.meetings.first_to_answer(occurrence.id, answer, CARD_NAMES)
            ]
            for answer in ANSWERS
            if counts[answer]
        }
        return Tally(counts, names)

    async def card(self, meeting: MeetingView, occurrence: OccurrenceView) -> Reply:
        """The meeting as posted in channels: when (in each viewer's zone), where, RSVP buttons and counts."""
        assert isinstance(meeting, Meeting)  # a view this service handed out: its row
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        assert occurrence.id is not None
        tally = await self.tally(occurrence)
        end = occurrence.start + timedelta(minutes=meeting.duration_minutes)
        title, place = version(meeting, "title", meeting.title), version(meeting, "location", meeting.location)
        agenda = version(meeting, "agenda", meeting.agenda)
        head = f"📅 **{user_text(title)}** (#{meeting.id})"
        if occurrence.cancelled:
            cancelled = _("~ Cancelled: {when} ~").format(when=timestamp(occurrence.start))
            said = _("Cancelled.")
            return Reply(f"{head}\n{cancelled}", blocks=(Section(f"{head}\n{said}"),))
        when = _("{start} to {end} ({relative})").format(
            start=timestamp(occurrence.start), end=timestamp(end, "t"), relative=timestamp(occurrence.start, "R")
        )
        lines = [head, when]
        if place:
            lines.append(_("Where: {place}").format(place=user_text(place)))
        if meeting.rrule:
            lines.append(_("Repeats: {rule}").format(rule=user_text(describe_rule(meeting.rrule))))
        if agenda:
            lines.append(_("Agenda: {agenda}").format(agenda=user_text(agenda)))
        if occurrence.minutes:
            lines.append(_("Minutes: {minutes}").format(minutes=user_text(occurrence.minutes)))
        answers = " · ".join(
            f"{_(label)} {tally.counts[a]}"
            + (f" ({user_text(', '.join(tally.names[a]))})" if tally.names.get(a) else "")
            for a, label in ANSWERS.items()
        )
        text = "\n".join(lines)
        buttons = tuple(
            Button(
                _(label),
                action_id("meeting", "rsvp", occurrence.id, answer),
                "primary" if answer is RsvpAnswer.GOING else None,
            )
            for answer, label in ANSWERS.items()
        )
        other = the_other(meeting)
        if other is not None:  # the version this reader is not shown, a click away
            buttons += (Button(LANGUAGES[other], action_id("content", "other", "meeting", meeting.id or 0)),)
        return Reply(
            text=f"{text}\n{answers}",
            blocks=(Section(text), Context(answers), Actions(buttons)),
            written_in=shown_language(meeting),
        )

    async def _announce(self, meeting: Meeting, occurrence: Occurrence) -> None:
        channels = await self.channels_of(meeting)
        for channel, card in await self.outbox.for_channels(channels, lambda: self.card(meeting, occurrence)):
            key = f"{SOURCE}:{occurrence.id}:announce:{channel.id}"
            if await self.repos.outbox.by_key(key) is not None:
                continue  # announced already (a restart, or the next meeting announced again)
            await self.outbox.to(
                channel,
                card,
                key=key,
                source=SOURCE,
                source_id=occurrence.id,
            )

    async def refresh_cards(self, meeting: Meeting, occurrence: Occurrence) -> None:
        """Bring every posted copy of the card up to date (coalesced to about one edit a second)."""
        channels = await self.channels_of(meeting)
        for channel, card in await self.outbox.for_channels(channels, lambda: self.card(meeting, occurrence)):
            posted = await self.repos.outbox.by_key(f"{SOURCE}:{occurrence.id}:announce:{channel.id}")
            if posted is None:
                continue
            await self.outbox.edit(posted, card, key=f"{SOURCE}:{occurrence.id}:announce-edit:{channel.id}")

    async def rsvp(
        self, meeting: MeetingView, occurrence: OccurrenceView, member: MemberView, answer: RsvpAnswer | str
    ) -> None:
        assert isinstance(meeting, Meeting)  # a view this service handed out: its row
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        if occurrence.cancelled or meeting.status == "cancelled":
            raise MeetingProblem(
                _("{title} on {start} was cancelled.").format(
                    title=user_text(meeting.title), start=timestamp(occurrence.start)
                )
            )
        if occurrence.start + timedelta(minutes=meeting.duration_minutes) <= self.clock.now():
            raise MeetingProblem(
                _("{title} on {start} is over.").format(
                    title=user_text(meeting.title), start=timestamp(occurrence.start)
                )
            )
        assert occurrence.id is not None and member.id is not None
        answer = RsvpAnswer(answer)
        # Written with the rest of the burst's answers, and the days kept for reports touched then.
        self.repos.meetings.stage_rsvp(meeting.coalition_id, occurrence, member.id, answer, self.clock.now())
        if member.reminder_minutes is None:
            pass  # on the coalition's reminders: no reminder rows of their own to plan or withdraw
        elif answer.coming:
            await self._plan_member(occurrence, member)
        else:
            await self.repos.meetings.cancel_member_reminders(occurrence.id, member.id)
        self.outbox.once_before_commit(
            f"meeting-cards:{occurrence.id}", lambda: self.refresh_cards(meeting, occurrence)
        )

    # Reminders -------------------------------------------------------------------------------

    async def set_reminders(
        self,
        coalition: CoalitionView,
        member: MemberView,
        *,
        mine: str | None = None,
        everyone: str | None = None,
        nudge: str | None = None,
    ) -> None:
        """Lead times as typed ("24h,1h", "off", "default" for a member's own): all are checked
        before any is changed. They apply to meetings scheduled or moved from now on."""
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        assert isinstance(member, Member)  # a view this service handed out: its row
        own = None if mine is None else mine.strip().lower()
        own_minutes = None if own in (None, "default", "off") else parse_lead_times(mine or "")
        all_minutes = None if everyone is None or everyone.strip().lower() == "off" else parse_lead_times(everyone)
        nudge_minutes = None if nudge is None or nudge.strip().lower() == "off" else parse_lead_times(nudge)[0]
        if mine is not None:
            member.reminder_minutes = [] if own == "off" else own_minutes
            await self.repos.members.save(member)
            # Own reminders already planned follow the new setting: withdrawn, and made again
            # where the member still has lead times of their own.
            for occurrence, _answer in await self.repos.meetings.answered_by(member.id or 0):
                await self.repos.meetings.cancel_member_reminders(occurrence.id or 0, member.id or 0)
                answer = await self.answer_of(occurrence, member)
                coming = answer is not None and answer.coming
                if coming and member.reminder_minutes and occurrence.start > self.clock.now():
                    await self._add_reminders(occurrence, member.reminder_minutes, member.id)
        if everyone is not None:
            coalition.reminder_minutes = all_minutes or []
        if nudge is not None:
            coalition.nudge_minutes = nudge_minutes
        if everyone is not None or nudge is not None:
            await self.repos.coalitions.save(coalition)

    async def send_due_reminders(self, now: datetime) -> int:
        handled = 0
        for reminder in await self.repos.meetings.due_reminders(now):
            late = now - reminder.due_at > REMINDER_GRACE
            if not await self.repos.meetings.claim_reminder(reminder.id or 0, "missed" if late else "sent"):
                continue
            handled += 1
            if late:
                continue
            occurrence = await self.repos.meetings.occurrence_by_id(reminder.occurrence_id)
            assert occurrence is not None
            meeting = await self.repos.meetings.meeting(occurrence.meeting_id)
            assert meeting is not None
            await self._remind(meeting, occurrence, reminder)
        return handled

    async def _remind(self, meeting: Meeting, occurrence: Occurrence, reminder: Reminder) -> None:
        assert occurrence.id is not None
        if reminder.kind == "nudge":
            await self._nudge(meeting, occurrence)
            return

        def text() -> str:
            said = _("⏰ **{title}** starts {when} ({at})").format(
                title=user_text(meeting.title), when=timestamp(occurrence.start, "R"), at=timestamp(occurrence.start)
            )
            return said + (f", {user_text(meeting.location)}" if meeting.location else "")

        if reminder.member_id is None:
            for channel in await self.channels_of(meeting):
                await self.outbox.to(
                    channel,
                    lambda: Reply(text()),
                    key=f"{SOURCE}:{occurrence.id}:remind:{reminder.id}:{channel.id}",
                    source=SOURCE,
                    source_id=occurrence.id,
                )

        def reminded_now(member: Member) -> bool:
            """The coalition's reminder goes to those without lead times of their own; an own one
            to its member only."""
            if reminder.member_id is None:
                return member.reminder_minutes is None
            return reminder.member_id == member.id

        await self._tell_those_coming(occurrence, text, f"remind:{reminder.id}", only=reminded_now)

    async def _nudge(self, meeting: Meeting, occurrence: Occurrence) -> None:
        """Ask, privately, the members who have not answered yet (observers are not asked)."""
        assert occurrence.id is not None
        answered = {m.id for _, m in await self.repos.meetings.rsvps(occurrence.id) if m is not None}
        asks: dict[str, Reply] = {}  # one message per language
        for member in await self.repos.broadcasts.members(meeting.coalition_id):
            if member.id in answered or member.role == Role.OBSERVER:
                continue
            language = await self.outbox.member_language(member)
            if language not in asks:
                with speaking(language):
                    card = await self.card(meeting, occurrence)
                    question = _("🙋 Will you come to **{title}** {when}? Please answer with the buttons.").format(
                        title=user_text(meeting.title), when=timestamp(occurrence.start, "R")
                    )
                # The question in the blocks too: a platform that shows blocks shows no fallback text.
                blocks = (Section(question), *card.blocks) if card.blocks else ()
                asks[language] = Reply(question + "\n" + card.text, blocks=blocks, private=True)
            await self.outbox.to(
                member,
                asks[language],
                key=f"{SOURCE}:{occurrence.id}:nudge:{member.id}",
                source=SOURCE,
                source_id=occurrence.id,
            )

    # Cancelling ------------------------------------------------------------------------------

    async def cancel(self, meeting: MeetingView, occurrence: OccurrenceView, series: bool) -> int:
        """Cancel one occurrence or the whole series; its reminders are withdrawn in the same transaction."""
        assert isinstance(meeting, Meeting)  # a view this service handed out: its row
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        assert occurrence.id is not None and meeting.id is not None
        targets = (
            [o for o in await self.repos.meetings.occurrences(meeting.id) if o.start >= occurrence.start]
            if series
            else [occurrence]
        )
        await self._days_changed(meeting, [t.start for t in targets])
        for target in targets:
            target.cancelled = True
            await self.repos.meetings.add(target)
        await self.repos.meetings.cancel_reminders([t.id for t in targets if t.id is not None])
        if series:
            meeting.status = "cancelled"
            meeting.next_materialize_at = None
        self._changed(meeting)
        await self.repos.meetings.add(meeting)
        if not series and meeting.rrule:
            await self._extend(meeting)  # the series goes on: its next date is made and announced
            await self._announce_next(meeting)
        for target in targets:
            await self.refresh_cards(meeting, target)
        for target in targets:

            def said(start: datetime = target.start) -> str:
                return _("❌ **{title}** on {when} is cancelled.").format(
                    title=user_text(meeting.title), when=timestamp(start)
                )

            await self._tell_those_coming(target, said, "cancelled")
        return len(targets)

    # Changing ----------------------------------------------------------------------------------

    async def move(self, meeting: MeetingView, occurrence: OccurrenceView, new_start: datetime, series: bool) -> None:
        """Move one occurrence (or, with `series`, it and every later one) to a new time: its reminders
        are rescheduled in the same transaction and those who said they'd come are told."""
        assert isinstance(meeting, Meeting)  # a view this service handed out: its row
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        if occurrence.cancelled or meeting.status == "cancelled":
            raise MeetingProblem(
                _("{title} on {start} was cancelled.").format(
                    title=user_text(meeting.title), start=timestamp(occurrence.start)
                )
            )
        assert occurrence.id is not None
        old_start = occurrence.start
        await self._days_changed(meeting, [old_start, new_start])
        occurrence.start = new_start
        await self.repos.meetings.add(occurrence)
        if series and meeting.rrule:
            zone = ZoneInfo(meeting.timezone)
            meeting.local_start = new_start.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0).isoformat()
            meeting.next_materialize_at = new_start
            later = [o for o in await self.repos.meetings.occurrences(meeting.id or 0) if o.start > old_start]
            await self._days_changed(meeting, [o.start for o in later])
            dropped = [o.id for o in later if o.id is not None and o.id != occurrence.id]
            await self.repos.meetings.drop_occurrences(dropped, keep_actions_on=occurrence.id)
        if meeting.rrule is None or series:
            occurrence.original_start = new_start  # the meeting itself moved, not one date of it
        self._changed(meeting)
        await self.repos.meetings.add(meeting)
        await self.repos.meetings.cancel_reminders([occurrence.id])
        await self._plan_reminders(meeting, occurrence)
        if series and meeting.rrule:
            await self._extend(meeting)  # the later dates, in the new rhythm
        await self.refresh_cards(meeting, occurrence)
        await self._tell_those_coming(
            occurrence,
            lambda: _("🕒 **{title}** has moved from {before} to {after}.").format(
                title=user_text(meeting.title), before=timestamp(old_start), after=timestamp(new_start)
            ),
            f"moved:{int(new_start.timestamp())}",
        )

    async def _tell_those_coming(
        self, occurrence: Occurrence, say: Callable[[], str], event: str, only: Callable[[Member], bool] | None = None
    ) -> None:
        """A private message to each member who answered going or maybe, in their language (`say`
        makes the text in the language in force); `event` keeps each news's deliveries apart (two
        moves are two messages, one move delivered twice is one)."""
        for rsvp, member in await self.repos.meetings.rsvps(occurrence.id or 0):
            if member is not None and rsvp.answer.coming and (only is None or only(member)):
                with speaking(await self.outbox.member_language(member)):
                    text = say()
                await self.outbox.to(
                    member,
                    Reply(text, private=True),
                    key=f"{SOURCE}:{occurrence.id}:{event}:dm:{member.id}",
                    source=SOURCE,
                    source_id=occurrence.id,
                )

    async def update_details(
        self,
        meeting: MeetingView,
        occurrence: OccurrenceView,
        title: str | None,
        location: str | None,
        agenda: str | None,
    ) -> None:
        """Title, place and agenda belong to the series; every posted card is brought up to date."""
        assert isinstance(meeting, Meeting)  # a view this service handed out: its row
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        if title is not None:
            meeting.title = title
        if location is not None:
            meeting.location = location
        if agenda is not None:
            meeting.agenda = agenda
        self._changed(meeting)
        await self.repos.meetings.add(meeting)
        await self.refresh_cards(meeting, occurrence)

    async def add_agenda_item(self, meeting: MeetingView, occurrence: OccurrenceView, item: str) -> int:
        assert isinstance(meeting, Meeting)  # a view this service handed out: its row
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        items = [line for line in (meeting.agenda or "").splitlines() if line.strip()]
        if len(items) >= 30:
            raise MeetingProblem(_("The agenda has 30 items already; that is the limit."))
        items.append(f"{len(items) + 1}. {item}")
        meeting.agenda = "\n".join(items)
        if len(meeting.agenda) > 3000:
            raise MeetingProblem(_("The agenda would pass 3,000 characters; shorten the item."))
        self._changed(meeting)
        await self.repos.meetings.add(meeting)
        await self.refresh_cards(meeting, occurrence)
        return len(items)

    async def set_minutes(self, occurrence: OccurrenceView, minutes: str) -> None:
        assert isinstance(occurrence, Occurrence)  # a view this service handed out: its row
        occurrence.minutes = minutes
        await self.repos.meetings.add(occurrence)

    async def record_attendance(self, occurrence: OccurrenceView, members: Sequence[MemberView]) -> int:
        assert occurrence.id is not None
        meeting = await self.repos.meetings.meeting(occurrence.meeting_id)
        if meeting is not None:
            await self._days_changed(meeting, [occurrence.start])  # attendance is often recorded days later
        return await self.repos.meetings.set_attendance(occurrence.id, [m.id for m in members if m.id is not None])

    # Action items --------------------------------------------------------------------------------

    async def add_action(
        self,
        meeting: MeetingView,
        occurrence: OccurrenceView,
        text: str,
        owner: MemberView,
        due: datetime,
        creator: MemberView,
        decision_id: int | None = None,
    ) -> ActionItemView:
        """An action item; its owner is reminded 24 h and 1 h before it is due, like a meeting.
        `decision_id`: the decision it carries out (`/decision show` lists it)."""
        assert isinstance(owner, Member)  # a view this service handed out: its row
        item = ActionItem(
            coalition_id=meeting.coalition_id,
            occurrence_id=occurrence.id or 0,
            text=text,
            owner_id=owner.id,
            due_at=due,
            created_by=creator.id,
            decision_id=decision_id,
        )
        await self.repos.meetings.add(item)
        now = self.clock.now()
        for offset in REMINDER_OFFSETS:
            if due - offset > now:
                await self.outbox.to(
                    owner,
                    lambda: Reply(
                        _(
                            "📌 Action from {title} due {relative} ({when}): {text}. "
                            "Mark it done with `/meeting done {id}`."
                        ).format(
                            title=user_text(meeting.title),
                            relative=timestamp(due, "R"),
                            when=timestamp(due),
                            text=user_text(text),
                            id=item.id,
                        ),
                        private=True,
                    ),
                    key=f"action:{item.id}:remind:{int(offset.total_seconds())}",
                    not_before=due - offset,
                    source="action",
                    source_id=item.id,
                )
        return item

    async def complete_action(self, item: ActionItemView) -> int:
        """Mark done and withdraw the reminders not yet sent; returns how many were withdrawn."""
        assert isinstance(item, ActionItem)  # a view this service handed out: its row
        item.done_at = self.clock.now()
        await self.repos.meetings.add(item)
        return await self.repos.outbox.cancel_pending_from("action", item.id or 0)

    # Calendars -------------------------------------------------------------------------------

    async def ics_of_occurrence(self, coalition_id: int, occurrence_id: int) -> tuple[str, bytes] | None:
        """The calendar file of the meeting (or series) an occurrence belongs to, with its name:
        what an email announcing it carries, so one click adds it to Outlook, Google or Apple."""
        found = await self.repos.meetings.occurrence(coalition_id, occurrence_id)
        if found is None:
            return None
        _occurrence, meeting = found
        return f"meeting-{meeting.id}.ics", await self.ics([meeting])

    async def ics(
        self, meetings: Sequence[MeetingView], *, member: Member | None = None, name: str | None = None
    ) -> bytes:
        """RFC 5545 that calendars update in place rather than duplicate: a UID per meeting that is
        stable across exports and unique to this install, SEQUENCE and LAST-MODIFIED moving with every
        change, the series' rule with cancelled dates as EXDATE and moved ones as RECURRENCE-ID
        overrides, and the series' own time zone."""
        from icalendar import Calendar, vRecur

        calendar = Calendar()
        calendar.add("prodid", "-//coalition-bot//meetings//EN")
        calendar.add("version", "2.0")
        if name:
            calendar.add("x-wr-calname", name)
        answers: dict[int, RsvpAnswer] = {}
        if member is not None and member.id is not None:
            for occurrence, _answer in await self.repos.meetings.answered_by(member.id):
                if (answer := await self.answer_of(occurrence, member)) is not None:
                    answers[occurrence.id or 0] = answer
        first, last = self.clock.now(), self.clock.now()
        calendar_ids = {}
        for coalition_id in {m.coalition_id for m in meetings}:
            coalition = await self.repos.coalitions.get(coalition_id)
            calendar_ids[coalition_id] = coalition.calendar_id if coalition is not None else "gone"
        for meeting in meetings:
            assert meeting.id is not None
            zone = ZoneInfo(meeting.timezone)
            occurrences = await self.repos.meetings.occurrences(meeting.id)
            start = datetime.fromisoformat(meeting.local_start).replace(tzinfo=zone)
            if meeting.rrule is None and occurrences:
                start = occurrences[0].start.astimezone(zone)  # a one-off keeps its moved time
            event = self._event(meeting, start, calendar_ids[meeting.coalition_id])
            if meeting.rrule is None and occurrences and (answer := answers.get(occurrences[0].id or 0)):
                _say_answer(event, answer)
            if meeting.rrule:
                event.add("rrule", vRecur.from_ical(meeting.rrule))
                for occurrence in occurrences:
                    if occurrence.cancelled and meeting.status != "cancelled":
                        event.add("exdate", occurrence.original_start.astimezone(zone))
            if meeting.status == "cancelled" or (meeting.rrule is None and any(o.cancelled for o in occurrences)):
                event.add("status", "CANCELLED")
            calendar.add_component(event)
            for occurrence in occurrences:
                answer = answers.get(occurrence.id or 0)
                moved = occurrence.start != occurrence.original_start
                if meeting.rrule and not occurrence.cancelled and (moved or answer):
                    override = self._event(
                        meeting, occurrence.start.astimezone(zone), calendar_ids[meeting.coalition_id]
                    )
                    override.add("recurrence-id", occurrence.original_start.astimezone(zone))
                    if answer:
                        _say_answer(override, answer)
                    calendar.add_component(override)
            first = min(first, start)
            last = max(last, start)
        # Time zone rules from the first meeting to well past the last, not 1970-2038.
        calendar.add_missing_timezones(
            first_date=(first - timedelta(days=366)).date(), last_date=(last + timedelta(days=366 * 25)).date()
        )
        return calendar.to_ical()

    def _event(self, meeting: MeetingView, start: datetime, calendar_id: str) -> Event:
        from icalendar import Event

        event = Event()
        event.add("uid", f"meeting-{meeting.id}-{calendar_id}@coalition-bot")
        event.add("summary", meeting.title)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=meeting.duration_minutes))
        # DTSTAMP is the revision's time, not the export's: an unchanged feed is byte for byte the
        # same, so its ETag holds and calendars are answered 304.
        event.add("dtstamp", meeting.updated_at or meeting.created_at)
        event.add("sequence", meeting.sequence)
        event.add("last-modified", meeting.updated_at or meeting.created_at)
        if meeting.location:
            event.add("location", meeting.location)
        if meeting.agenda:
            event.add("description", meeting.agenda)
        return event

    async def _days_changed(self, meeting: Meeting, instants: list[datetime | None]) -> None:
        """Days before today that reports keep (bot.services.reports) change at these instants."""
        today = day_of(self.clock.now())
        past = [at for at in instants if at is not None and at < today]
        if past:
            await self.repos.engagement.touch(meeting.coalition_id, past)

    def _changed(self, meeting: Meeting) -> None:
        """Every change calendars should pick up: they keep the copy with the higher SEQUENCE."""
        meeting.sequence += 1
        meeting.updated_at = self.clock.now()


def _say_answer(event: Event, answer: str) -> None:
    """A member's own feed says what they answered, first thing in the description."""
    said = _("Your answer: {answer}.").format(answer=_(ANSWERS[answer]))
    agenda = event.get("description")
    event.pop("description", None)
    event.add("description", f"{said}\n\n{agenda}" if agenda else said)


def parse_lead_times(text: str) -> list[int]:
    """ "24h,1h" as minutes before, longest first; raises MeetingProblem with the correct form."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > 3:
        raise MeetingProblem(_("Give one to three lead times, like 24h,1h or 2h."))
    minutes = []
    for part in parts:
        try:
            duration = parse_duration(part)
        except TimeProblem as exc:
            raise MeetingProblem(str(exc)) from None
        if not timedelta(minutes=5) <= duration <= timedelta(days=14):
            raise MeetingProblem(_("'{part}' is not between 5 minutes and 14 days.").format(part=part))
        minutes.append(int(duration.total_seconds() // 60))
    return sorted(set(minutes), reverse=True)


def lead_times(minutes: Sequence[int] | None) -> list[timedelta]:
    """Stored lead times (minutes before) as durations; None or []: none."""
    return [timedelta(minutes=m) for m in minutes or []]


def _rrule_dict(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
