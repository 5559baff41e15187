"""Fan-outs: one private message to many members (a poll's reminder, a broadcast's nudge), queued a
slice of members at a time after it was asked for.

Queuing 20,000 reminders in the command's own transaction would hold SQLite's one writer for
half a second, and every other command would wait behind it. Instead the command writes one
`Fanout` row; each slice then reads SLICE members after the last one queued, queues the reminder
to those it concerns and moves the row on, all in one short transaction. A crash loses nothing
(the row says where to carry on) and doubles nothing (a slice and its move commit together);
on PostgreSQL the row is locked while a slice is queued, so two processes take turns on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.i18n import _, ngettext
from bot.replies import Reply
from bot.services.broadcasts import SOURCE as BROADCAST
from bot.services.broadcasts import BroadcastService
from bot.services.outbox import Outbox
from bot.services.polls import SOURCE as POLL
from bot.services.polls import PollService
from storage import Repositories
from storage.broadcasts import MemberAddress
from storage.models import Fanout

SLICE = 1000  # members read per transaction: about 30 ms of queuing on this project's benchmark machine


class FanoutService:
    def __init__(self, repos: Repositories, outbox: Outbox, polls: PollService, broadcasts: BroadcastService) -> None:
        self.repos = repos
        self.outbox = outbox
        self.polls = polls
        self.broadcasts = broadcasts

    async def next_due(self) -> datetime | None:
        """When the oldest reminder or nudge to many members was asked for (now, if one waits)."""
        return await self.repos.fanouts.oldest()

    async def waiting(self) -> list[int]:
        return await self.repos.fanouts.waiting()

    async def step(self, fanout_id: int) -> bool:
        """Queue the next slice of this fan-out; False once it is finished (or gone)."""
        fanout = await self.repos.fanouts.take(fanout_id)
        if fanout is None:
            return False  # another process finished it
        members = await self.repos.broadcasts.addresses(fanout.coalition_id, after=fanout.after_member_id, limit=SLICE)
        queued = await self._queue(fanout, members) if members else None
        if queued is None:  # every member read, or what it reminds of has closed meanwhile
            await self._report(fanout)
            await self.repos.fanouts.finish(fanout)
            return False
        fanout.reached += queued
        fanout.after_member_id = members[-1].id
        await self.repos.fanouts.save(fanout)
        return True

    async def _queue(self, fanout: Fanout, members: Sequence[MemberAddress]) -> int | None:
        if fanout.source == POLL:
            poll = await self.repos.polls.by_id(fanout.source_id)
            return None if poll is None else await self.polls.remind_some(poll, fanout.stamp, members)
        if fanout.source == BROADCAST:
            broadcast = await self.repos.broadcasts.by_id(fanout.source_id)
            return None if broadcast is None else await self.broadcasts.nudge_some(broadcast, fanout.stamp, members)
        return None

    async def _report(self, fanout: Fanout) -> None:
        """Tell whoever asked how many were reminded (never who)."""
        requester = await self.repos.members.by_id(fanout.requested_by) if fanout.requested_by else None
        if requester is None:
            return
        count, source_id = fanout.reached, fanout.source_id
        poll = await self.repos.polls.by_id(source_id) if fanout.source == POLL else None

        def said() -> Reply:
            if poll is not None and poll.anonymous:
                # How many were reminded is how many have not voted: asked again after each vote,
                # it would tell who just voted. So no number, whatever it is.
                text = _(
                    "Reminders to vote in poll #{id} went privately to those who have not voted yet, if any. "
                    "In an anonymous poll nobody is told how many, or who."
                )
            elif count == 0 and fanout.source == POLL:
                text = _("Everyone who can vote in poll #{id} has voted. Nobody to remind.")
            elif count == 0:
                text = _("Everyone has acknowledged broadcast #{id}. Nobody to remind.")
            elif fanout.source == POLL:
                text = ngettext(
                    "Reminded {count} member privately to vote in poll #{id}. Nobody is told who has voted.",
                    "Reminded {count} members privately to vote in poll #{id}. Nobody is told who has voted.",
                    count,
                )
            else:
                text = ngettext(
                    "Reminded {count} member privately to acknowledge broadcast #{id}.",
                    "Reminded {count} members privately to acknowledge broadcast #{id}.",
                    count,
                )
            return Reply(text.format(count=count, id=source_id), private=True)

        await self.outbox.to(requester, said, key=f"fanout:{fanout.source}:{source_id}:{fanout.stamp}:done")
