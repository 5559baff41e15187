"""Broadcasts: one update to every linked channel (or the tagged ones), on every platform, with
acknowledgements and a delivery report that updates while the broadcast goes out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.markup import timestamp, user_text
from bot.problems import Problem
from bot.replies import Actions, Button, Context, Reply, Section, action_id
from bot.services.outbox import Outbox
from storage import Repositories
from storage.models import Acknowledgement, Broadcast, Channel, Member, OutboxMessage
from storage.outbox import FAILED, PENDING, SENDING, SENT

SOURCE = "broadcast"
NUDGE_EVERY = timedelta(hours=1)


class BroadcastProblem(Problem):
    """The broadcast cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class ChannelState:
    channel: str
    platform: str
    status: str
    detail: str


@dataclass(frozen=True)
class BroadcastStatus:
    broadcast: Broadcast
    author: str
    deliveries: list[ChannelState]
    counts: Counter[str]
    acks: list[tuple[Acknowledgement, Member | None]]
    acks_by_channel: Counter[str]
    acks_by_sector: Counter[str]


def _key(broadcast_id: int, part: str) -> str:
    return f"{SOURCE}:{broadcast_id}:{part}"


class BroadcastService:
    def __init__(self, repos: Repositories, outbox: Outbox, clock: Clock) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock

    async def create(
        self,
        coalition_id: int,
        author: Member,
        text: str,
        tags: list[str] | None,
        send_at: datetime | None,
        ack: bool,
    ) -> tuple[Broadcast, list[Channel]]:
        channels = await self.repos.coalitions.channels(coalition_id)
        if tags:
            known = sorted({t for c in channels for t in c.tags})
            unknown = [t for t in tags if t not in known]
            if unknown:
                listing = ", ".join(known) if known else "none yet (add some with /coalition link --tags ...)"
                raise BroadcastProblem(f"No linked channel has the tag '{unknown[0]}'. Tags in use: {listing}.")
            channels = [c for c in channels if set(c.tags) & set(tags)]
        if not channels:
            raise BroadcastProblem("No channels are linked yet. Link some with `/coalition link` first.")
        now = self.clock.now()
        assert author.id is not None
        broadcast = await self.repos.broadcasts.add(
            Broadcast(
                coalition_id=coalition_id,
                author_id=author.id,
                text=text,
                tags=",".join(tags or []),
                ack_enabled=ack,
                send_at=send_at or now,
                target_count=len(channels),
                created_at=now,
            )
        )
        assert broadcast.id is not None
        message = self.message(broadcast, author)
        for channel in channels:
            await self.outbox.to_channel(
                coalition_id,
                channel,
                message,
                key=_key(broadcast.id, f"channel:{channel.id}"),
                not_before=broadcast.send_at,
                source=SOURCE,
                source_id=broadcast.id,
            )
        await self.outbox.to_member(
            author,
            self._report(broadcast, Counter({PENDING: len(channels)})),
            key=_key(broadcast.id, "report"),
            not_before=broadcast.send_at,
            source=SOURCE,
            source_id=broadcast.id,
        )
        return broadcast, channels

    # Finding and listing ------------------------------------------------------------------

    async def find(self, coalition_id: int, broadcast_id: int) -> Broadcast | None:
        return await self.repos.broadcasts.get(coalition_id, broadcast_id)

    async def recent(self, coalition_id: int, limit: int = 10) -> list[Broadcast]:
        return await self.repos.broadcasts.recent(coalition_id, limit)

    async def delivery_counts(self, broadcast: Broadcast) -> tuple[dict[str, int], int]:
        """Per status, how many channel deliveries; and how many members acknowledged."""
        assert broadcast.id is not None
        counts = await self.repos.outbox.status_counts(SOURCE, broadcast.id)
        return counts, len(await self.repos.broadcasts.acknowledgements(broadcast.id))

    async def acknowledged_at(self, broadcast: Broadcast, member: Member) -> datetime | None:
        found = await self.repos.broadcasts.acknowledgement(broadcast.id or 0, member.id or 0)
        return found.acked_at if found else None

    async def awaiting_acknowledgement(self, coalition_id: int, member: Member, now: datetime) -> list[Broadcast]:
        """Recent broadcasts sent and asking for acknowledgement that this member has not acknowledged."""
        asking = [
            b
            for b in await self.repos.broadcasts.recent(coalition_id, limit=20)
            if b.status != "cancelled" and b.ack_enabled and b.send_at <= now
        ]
        done = await self.repos.broadcasts.acknowledged([b.id or 0 for b in asking], member.id or 0)
        return [b for b in asking if b.id not in done]

    def message(self, broadcast: Broadcast, author: Member) -> Reply:
        assert broadcast.id is not None
        head = f"📣 **Broadcast from {user_text(author.display_name or author.user_id)}** (#{broadcast.id})"
        body = user_text(broadcast.text)
        blocks: list = [Section(f"{head}\n{body}")]
        if broadcast.ack_enabled:
            blocks.append(Context("Please press Acknowledge once you have read this."))
            blocks.append(Actions((Button("Acknowledge", action_id("broadcast", "ack", broadcast.id), "primary"),)))
        return Reply(text=f"{head}\n{body}", blocks=tuple(blocks))

    def _report(self, broadcast: Broadcast, counts: Counter[str], failures: list[str] | None = None) -> Reply:
        total = broadcast.target_count
        delivered = counts[SENT]
        line = f"📬 Broadcast #{broadcast.id}: delivered {delivered} of {total} channel{'s' if total != 1 else ''}"
        if counts[FAILED]:
            line += f", {counts[FAILED]} failed (see `/broadcast status {broadcast.id}`)"
        if delivered + counts[FAILED] >= total:
            line += ". Done."
        else:
            line += "…"
        # What went wrong, with the fix, so the sender can act without asking anyone.
        lines = [line, *(f"• {failure}" for failure in (failures or [])[:5])]
        return Reply(text="\n".join(lines), private=True)

    async def refresh_report(self, broadcast_id: int) -> None:
        """Bring the sender's report up to date; edits are coalesced to about one a second."""
        broadcast = await self.repos.broadcasts.by_id(broadcast_id)
        report = await self.repos.outbox.by_key(_key(broadcast_id, "report"))
        if broadcast is None or report is None:
            return
        counts = Counter(await self.repos.outbox.status_counts(SOURCE, broadcast_id))
        counts[PENDING] += counts.pop(SENDING, 0)
        failures = []
        if counts[FAILED]:
            status = await self.status(broadcast)
            failures = [
                f"{user_text(d.channel)} on {d.platform}: {d.detail}" for d in status.deliveries if d.status == FAILED
            ]
        await self.outbox.edit(report, self._report(broadcast, counts, failures), key=_key(broadcast_id, "report-edit"))

    async def cancel(self, broadcast: Broadcast) -> tuple[int, int]:
        """Withdraw what is not yet sent; returns (withdrawn, already delivered)."""
        assert broadcast.id is not None
        withdrawn = await self.repos.outbox.cancel_pending_from(SOURCE, broadcast.id, "post")
        counts = await self.repos.outbox.status_counts(SOURCE, broadcast.id)
        broadcast.status = "cancelled"
        await self.repos.broadcasts.save(broadcast)
        return withdrawn, counts.get(SENT, 0) + counts.get(SENDING, 0)

    async def acknowledge(
        self, broadcast: Broadcast, member: Member, channel: Channel | None
    ) -> Acknowledgement | None:
        assert broadcast.id is not None and member.id is not None
        return await self.repos.broadcasts.acknowledge(
            Acknowledgement(
                broadcast_id=broadcast.id,
                member_id=member.id,
                channel_id=channel.id if channel else None,
                acked_at=self.clock.now(),
            )
        )

    async def status(self, broadcast: Broadcast) -> BroadcastStatus:
        assert broadcast.id is not None
        rows = [r for r in await self.repos.outbox.for_source(SOURCE, broadcast.id) if r.kind == "post"]
        channels = {
            (c.platform, c.workspace_id, c.channel_id): c
            for c in await self.repos.coalitions.channels(broadcast.coalition_id)
        }
        deliveries = [self._channel_state(r, channels) for r in rows]
        acks = await self.repos.broadcasts.acknowledgements(broadcast.id)
        by_id = {c.id: c for c in channels.values()}
        by_channel = Counter(
            f"#{by_id[a.channel_id].name}" if a.channel_id in by_id else "a direct message" for a, _ in acks
        )
        by_sector = Counter((m.sector or "no sector given") if m else "former members" for _, m in acks)
        author = await self.repos.members.by_id(broadcast.author_id) if broadcast.author_id else None
        return BroadcastStatus(
            broadcast=broadcast,
            author=(author.display_name or author.user_id) if author else "a former member",
            deliveries=deliveries,
            counts=Counter(r.status for r in rows),
            acks=acks,
            acks_by_channel=by_channel,
            acks_by_sector=by_sector,
        )

    def _channel_state(self, row: OutboxMessage, channels: dict[tuple[str, str, str], Channel]) -> ChannelState:
        channel = channels.get((row.platform, row.workspace_id, row.channel_id or ""))
        name = f"#{channel.name}" if channel and channel.name else f"channel {row.channel_id}"
        if row.status == SENT:
            detail = f"delivered {timestamp(row.sent_at, 'f')}" if row.sent_at else "delivered"
        elif row.status == FAILED:
            detail = f"failed: {user_text(row.last_error or 'unknown reason')}"
        elif row.status == "cancelled":
            detail = "cancelled before it was sent"
        else:
            detail = f"pending, next try {timestamp(row.not_before, 'R')}"
            if row.last_error:
                detail += f" (last error: {user_text(row.last_error)})"
        return ChannelState(name, row.platform, row.status, detail)

    async def nudge(self, broadcast: Broadcast, sender: Member) -> int:
        """Privately remind everyone who has not acknowledged; at most once an hour per broadcast."""
        assert broadcast.id is not None
        now = self.clock.now()
        if broadcast.last_nudge_at is not None and now < broadcast.last_nudge_at + NUDGE_EVERY:
            raise BroadcastProblem(
                f"Members were reminded {timestamp(broadcast.last_nudge_at, 'R')}; you can remind them again "
                f"{timestamp(broadcast.last_nudge_at + NUDGE_EVERY, 'R')}."
            )
        acked = await self.repos.broadcasts.acknowledged_by(broadcast.id)
        members = [
            m
            for m in await self.repos.broadcasts.addresses(broadcast.coalition_id)
            if m.id not in acked and m.id != broadcast.author_id
        ]
        author = await self.repos.members.by_id(broadcast.author_id) if broadcast.author_id else None
        original = self.message(broadcast, author or sender)
        reminder = Reply(
            text=f"🔔 A reminder to read and acknowledge this broadcast:\n{original.text}",
            blocks=(Section("🔔 A reminder to read and acknowledge this broadcast:"), *original.blocks),
            private=True,
        )
        stamp, broadcast_id = int(now.timestamp()), broadcast.id
        await self.outbox.to_members(
            members,
            reminder,
            key=lambda m: _key(broadcast_id, f"nudge:{stamp}:{m.id}"),
            source=SOURCE,
            source_id=broadcast.id,
        )
        broadcast.last_nudge_at = now
        await self.repos.broadcasts.save(broadcast)
        return len(members)
