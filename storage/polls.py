"""Queries for polls, their ballots, and the anonymous feedback box's rate counts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import upsert
from storage.engagement import EngagementRepository, day_of
from storage.kinds import PollKind
from storage.models import Ballot, Member, Poll, PollKey, PollTally, SurveyResponse


class PollRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._staged: dict[tuple[int, str], dict[str, Any]] = {}
        self.sealed = False  # a sealed poll was closed in this transaction (see Repositories.commit)

    async def add(self, poll: Poll) -> Poll:
        self.session.add(poll)
        await self.session.flush()
        return poll

    async def get(self, coalition_id: int, poll_id: int) -> Poll | None:
        found = await self.session.get(Poll, poll_id)
        return found if found is not None and found.coalition_id == coalition_id else None

    async def by_id(self, poll_id: int) -> Poll | None:
        return await self.session.get(Poll, poll_id)

    async def recent(self, coalition_id: int, limit: int = 15, open_only: bool = False) -> list[Poll]:
        query = select(Poll).where(Poll.coalition_id == coalition_id)
        if open_only:
            query = query.where(Poll.status == "open")
        result = await self.session.exec(query.order_by(col(Poll.id).desc()).limit(limit))
        return list(result.all())

    async def save(self, poll: Poll) -> Poll:
        self.session.add(poll)
        await self.session.flush()
        return poll

    async def close(self, poll: Poll, now: datetime) -> bool:
        """Close the poll if it is still open; False when another process or click closed it first."""
        result = await self.session.exec(  # type: ignore[call-overload]
            update(Poll)
            .where(col(Poll.id) == poll.id, col(Poll.status) == "open")
            .values(status="closed", closed_at=now)
        )
        if result.rowcount != 1:
            return False
        poll.status, poll.closed_at = "closed", now
        return True

    async def next_deadline(self) -> datetime | None:
        result = await self.session.exec(select(func.min(Poll.closes_at)).where(Poll.status == "open"))
        return result.one()

    async def due(self, now: datetime) -> list[Poll]:
        result = await self.session.exec(
            select(Poll).where(Poll.status == "open", col(Poll.closes_at) <= now).order_by(col(Poll.closes_at))
        )
        return list(result.all())

    # Polls that repeat ---------------------------------------------------------------------

    async def next_round(self) -> datetime | None:
        result = await self.session.exec(select(func.min(Poll.next_round_at)))
        return result.one()

    async def rounds_due(self, now: datetime) -> list[Poll]:
        result = await self.session.exec(
            select(Poll).where(col(Poll.next_round_at) <= now).order_by(col(Poll.next_round_at))
        )
        return list(result.all())

    async def claim_round(self, poll: Poll) -> bool:
        """Take the opening of `poll`'s next round; False when another process (or run) took it."""
        result = await self.session.exec(  # type: ignore[call-overload]
            update(Poll).where(col(Poll.id) == poll.id, col(Poll.next_round_at).is_not(None)).values(next_round_at=None)
        )
        if result.rowcount != 1:
            return False
        poll.next_round_at = None
        return True

    async def latest_round(self, series_id: int) -> Poll | None:
        result = await self.session.exec(
            select(Poll).where(Poll.series_id == series_id).order_by(col(Poll.round).desc()).limit(1)
        )
        return result.first()

    async def round_of(self, series_id: int, round_number: int) -> Poll | None:
        result = await self.session.exec(select(Poll).where(Poll.series_id == series_id, Poll.round == round_number))
        return result.first()

    # Sealed polls' keys --------------------------------------------------------------------

    async def add_keys(self, poll_id: int, wrapped: str) -> None:
        self.session.add(PollKey(poll_id=poll_id, wrapped=wrapped))
        await self.session.flush()

    async def keys(self, poll_id: int) -> str | None:
        found = await self.session.get(PollKey, poll_id)
        return found.wrapped if found is not None else None

    async def some_keys(self, limit: int) -> list[tuple[int, str]]:
        """(poll id, wrapped keys) of a few polls that still hold keys: enough to tell whether
        ANONYMITY_SECRET is the one they were sealed under."""
        result = await self.session.exec(select(PollKey.poll_id, PollKey.wrapped).limit(limit))  # type: ignore[call-overload]
        return [(int(poll_id), wrapped) for poll_id, wrapped in result.all()]

    async def seal_final(self, poll: Poll, final_tally: str) -> None:
        """At close: the count is written once, and the ballots and the keys that could open or
        link them are deleted in the same transaction."""
        await self.write_staged()
        poll.final_tally = final_tally
        self.session.add(poll)
        await self.session.exec(delete(Ballot).where(col(Ballot.poll_id) == poll.id))  # type: ignore[call-overload]
        await self.session.exec(  # type: ignore[call-overload]
            delete(SurveyResponse).where(col(SurveyResponse.poll_id) == poll.id)
        )
        await self.session.exec(delete(PollKey).where(col(PollKey.poll_id) == poll.id))  # type: ignore[call-overload]
        await self.session.flush()
        self.sealed = True

    async def ballot_count(self, poll_id: int) -> int:
        await self.write_staged()
        result = await self.session.exec(select(func.count()).select_from(Ballot).where(Ballot.poll_id == poll_id))
        return int(result.one())

    async def all_choices(self, poll_id: int) -> list[str]:
        """Every ballot's stored choices, one per voter (sealed ones cannot be grouped)."""
        await self.write_staged()
        result = await self.session.exec(select(Ballot.choices).where(Ballot.poll_id == poll_id))
        return list(result.all())

    async def sealed_ballots(self, poll_id: int) -> list[tuple[str, str]]:
        """(voter key, stored choices) of every ballot: an anonymous poll's, to count in memory."""
        await self.write_staged()
        result = await self.session.exec(select(Ballot.voter_key, Ballot.choices).where(Ballot.poll_id == poll_id))
        return list(result.all())

    # Ballots -------------------------------------------------------------------------------

    async def ballot(self, poll_id: int, voter_key: str) -> Ballot | None:
        await self.write_staged()
        # Always read: ballots are written by upsert, which the session's identity map does not see.
        return await self.session.get(Ballot, (poll_id, voter_key), populate_existing=True)

    def put_ballot(
        self, poll_id: int, voter_key: str, member_id: int | None, choices: str, cast_at: datetime | None
    ) -> None:
        """Insert or replace this voter's ballot. Ballots are staged and written together, in one
        upsert on the ballot's key, before any ballot is read and at commit: a burst of votes costs
        one statement, and a click delivered twice, or two racing clicks by one voter, end in one
        row (the last one wins)."""
        self._staged[(poll_id, voter_key)] = {
            "poll_id": poll_id,
            "voter_key": voter_key,
            "member_id": member_id,
            "choices": choices,
            "cast_at": cast_at,
        }

    async def write_staged(self) -> None:
        if not self._staged:
            return
        rows, self._staged = list(self._staged.values()), {}
        named = [r for r in rows if r["member_id"] is not None]  # anonymous ballots carry no member
        if named:
            # Per poll, `voter_key IN (...)`: the primary key's index answers it, where SQLite scans
            # the whole table for a row-value `(poll_id, voter_key) IN (VALUES ...)`.
            keys: dict[int, list[str]] = {}
            staged_at: dict[tuple[int, str], datetime | None] = {}
            for r in named:
                keys.setdefault(r["poll_id"], []).append(r["voter_key"])
                staged_at[(r["poll_id"], r["voter_key"])] = r["cast_at"]
            old: dict[tuple[int, str], str] = {}
            for poll_id, voters in keys.items():
                before = await self.session.exec(
                    select(Ballot.voter_key, Ballot.choices, Ballot.cast_at).where(
                        Ballot.poll_id == poll_id, col(Ballot.voter_key).in_(voters)
                    )
                )
                earlier = []
                for voter_key, choices, cast_at in before.all():
                    old[(poll_id, voter_key)] = choices
                    now = staged_at[(poll_id, voter_key)]
                    if cast_at is not None and (now is None or day_of(cast_at) < day_of(now)):
                        earlier.append(cast_at)  # a vote cast on an earlier day moves to this one
                await EngagementRepository(self.session).touch_for_poll(poll_id, earlier)
            change: Counter[tuple[int, str]] = Counter()
            for r in named:
                previous = old.get((r["poll_id"], r["voter_key"]))
                if previous != r["choices"]:
                    change[(r["poll_id"], r["choices"])] += 1
                    if previous is not None:
                        change[(r["poll_id"], previous)] -= 1
            await self._count(change)
        statement = upsert(self.session, Ballot)
        statement = statement.on_conflict_do_update(
            index_elements=["poll_id", "voter_key"],
            set_={"choices": statement.excluded.choices, "cast_at": statement.excluded.cast_at},
        )
        await self.session.exec(statement, params=rows)  # type: ignore[call-overload]

    def discard_staged(self) -> None:
        self._staged = {}

    async def delete_ballot(self, poll_id: int, voter_key: str) -> bool:
        await self.write_staged()
        result = await self.session.exec(  # type: ignore[call-overload]
            delete(Ballot)
            .where(col(Ballot.poll_id) == poll_id, col(Ballot.voter_key) == voter_key)
            .returning(Ballot.member_id, Ballot.choices, Ballot.cast_at)
        )
        gone = result.all()
        named = [(poll_id, choices) for member_id, choices, _ in gone if member_id is not None]
        await EngagementRepository(self.session).touch_for_poll(
            poll_id, [cast_at for member_id, _, cast_at in gone if member_id is not None and cast_at is not None]
        )
        if named:
            await self._count(Counter({key: -1 for key in named}))
        return bool(gone)

    async def _count(self, change: Counter[tuple[int, str]]) -> None:
        """Apply ballot-count changes to the kept tallies (one upsert), and drop emptied groups."""
        change = Counter({k: v for k, v in change.items() if v})
        if not change:
            return
        statement = upsert(self.session, PollTally)
        statement = statement.on_conflict_do_update(
            index_elements=["poll_id", "choices"], set_={"ballots": PollTally.ballots + statement.excluded.ballots}
        )
        params = [{"poll_id": p, "choices": c, "ballots": n} for (p, c), n in sorted(change.items())]
        await self.session.exec(statement, params=params)  # type: ignore[call-overload]
        polls = sorted({p for p, _ in change})
        await self.session.exec(  # type: ignore[call-overload]
            delete(PollTally).where(col(PollTally.poll_id).in_(polls), col(PollTally.ballots) <= 0)
        )

    async def tallies(self, poll_id: int) -> list[tuple[str, int]]:
        """The kept counts of a poll that is not anonymous: as `choices`, without reading ballots."""
        await self.write_staged()
        result = await self.session.exec(
            select(PollTally.choices, PollTally.ballots).where(PollTally.poll_id == poll_id)
        )
        return [(choices, int(n)) for choices, n in result.all()]

    async def choices(self, poll_id: int) -> list[tuple[str, int]]:
        """Each distinct set (or ranking) of choices with how many ballots hold it: what tallies are
        counted from, so they always equal the database."""
        await self.write_staged()
        result = await self.session.exec(
            select(Ballot.choices, func.count()).where(Ballot.poll_id == poll_id).group_by(col(Ballot.choices))  # type: ignore[arg-type]
        )
        return [(choices, int(count)) for choices, count in result.all()]

    async def voter_keys(self, poll_id: int, survey: bool = False) -> set[str]:
        await self.write_staged()
        table = SurveyResponse if survey else Ballot
        result = await self.session.exec(select(table.voter_key).where(table.poll_id == poll_id))
        return set(result.all())

    async def voted_among(self, poll_id: int, voter_keys: list[str], survey: bool = False) -> set[str]:
        """Which of these voters have voted (a slice of a reminder asks about its own members only)."""
        await self.write_staged()
        table = SurveyResponse if survey else Ballot
        result = await self.session.exec(
            select(table.voter_key).where(table.poll_id == poll_id, col(table.voter_key).in_(voter_keys))
        )
        return set(result.all())

    async def named_ballots(self, poll_id: int) -> list[tuple[Ballot, Member | None]]:
        """Ballots with their voters, for polls that are not anonymous (exports)."""
        await self.write_staged()
        result = await self.session.exec(
            select(Ballot, Member)
            .join(Member, col(Member.id) == Ballot.member_id, isouter=True)
            .where(Ballot.poll_id == poll_id)
            .order_by(col(Ballot.cast_at))
        )
        return list(result.all())

    async def voter_counts(self, poll_ids: list[int]) -> dict[int, int]:
        await self.write_staged()
        if not poll_ids:
            return {}
        result = await self.session.exec(
            select(Ballot.poll_id, func.count()).where(col(Ballot.poll_id).in_(poll_ids)).group_by(col(Ballot.poll_id))  # type: ignore[arg-type]
        )
        return {poll_id: int(count) for poll_id, count in result.all()}

    # Surveys ---------------------------------------------------------------------------------

    async def survey_response(self, poll_id: int, voter_key: str) -> SurveyResponse | None:
        return await self.session.get(SurveyResponse, (poll_id, voter_key), populate_existing=True)

    async def save_survey_response(self, response: SurveyResponse) -> None:
        await self.session.merge(response)
        await self.session.flush()

    async def survey_responses(self, poll_id: int) -> list[tuple[str | None, str]]:
        result = await self.session.exec(
            select(SurveyResponse.sector, SurveyResponse.answers).where(SurveyResponse.poll_id == poll_id)
        )
        return list(result.all())

    async def survey_rounds(self, coalition_id: int, title: str) -> list[Poll]:
        """The closed rounds of the survey with this title (as typed, any case), oldest first."""
        result = await self.session.exec(
            select(Poll)
            .where(
                Poll.coalition_id == coalition_id,
                Poll.kind == PollKind.SURVEY,
                Poll.status == "closed",
                func.lower(Poll.question) == title.lower(),
            )
            .order_by(col(Poll.closed_at))
        )
        return list(result.all())

    async def earlier_rounds(self, poll: Poll) -> list[Poll]:
        """Surveys with the same title asked before this one in the coalition, oldest first."""
        result = await self.session.exec(
            select(Poll)
            .where(
                Poll.coalition_id == poll.coalition_id,
                Poll.kind == PollKind.SURVEY,
                func.lower(Poll.question) == poll.question.lower(),
                col(Poll.id) < (poll.id or 0),
            )
            .order_by(col(Poll.id))
        )
        return list(result.all())
