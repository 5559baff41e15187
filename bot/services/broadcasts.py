"""Broadcasts: one update to every linked channel (or the tagged ones), on every platform, with
acknowledgements and a delivery report that updates while the broadcast goes out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.bilingual import set_second, shown_language, the_other, version
from bot.clock import Clock
from bot.i18n import LANGUAGES, _, language, ngettext, speaking
from bot.markup import timestamp, user_text
from bot.problems import Problem
from bot.replies import Actions, Button, Context, Reply, Section, action_id
from bot.services.outbox import Outbox
from bot.views import BroadcastView, ChannelView, MemberView
from storage import Repositories
from storage.broadcasts import MemberAddress
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
        author: MemberView,
        text: str,
        tags: list[str] | None,
        send_at: datetime | None,
        ack: bool,
        public: bool = False,
        second: tuple[str, str] | None = None,
    ) -> tuple[BroadcastView, Sequence[ChannelView]]:
        """`second`: (language, text), the same update in the other language."""
        assert isinstance(author, Member)  # a view this service handed out: its row
        channels = await self.repos.coalitions.channels(coalition_id)
        if tags:
            known = sorted({t for c in channels for t in c.tags})
            unknown = [t for t in tags if t not in known]
            if unknown:
                listing = ", ".join(known) if known else _("none yet (add some with /coalition link --tags ...)")
                raise BroadcastProblem(
                    _("No linked channel has the tag '{tag}'. Tags in use: {listing}.").format(
                        tag=unknown[0], listing=listing
                    )
                )
            channels = [c for c in channels if set(c.tags) & set(tags)]
        if not channels:
            raise BroadcastProblem(_("No channels are linked yet. Link some with `/coalition link` first."))
        now = self.clock.now()
        assert author.id is not None
        made = Broadcast(
            coalition_id=coalition_id,
            author_id=author.id,
            text=text,
            tags=list(tags or []),
            ack_enabled=ack,
            public=public,
            send_at=send_at or now,
            target_count=len(channels),
            created_at=now,
            language=language(),  # the author's, in force while their command runs
        )
        if second is not None:
            set_second(made, second[0], {"text": second[1]})
        broadcast = await self.repos.broadcasts.add(made)
        assert broadcast.id is not None
        for channel in channels:
            await self.outbox.to(
                channel,
                lambda: self.message(broadcast, author),
                key=_key(broadcast.id, f"channel:{channel.id}"),
                not_before=broadcast.send_at,
                source=SOURCE,
                source_id=broadcast.id,
            )
        await self.outbox.to(
            author,
            lambda: self._report(broadcast, Counter({PENDING: len(channels)})),
            key=_key(broadcast.id, "report"),
            not_before=broadcast.send_at,
            source=SOURCE,
            source_id=broadcast.id,
        )
        return broadcast, channels

    # Finding and listing ------------------------------------------------------------------

    async def find(self, coalition_id: int, broadcast_id: int) -> BroadcastView | None:
        return await self.repos.broadcasts.get(coalition_id, broadcast_id)

    async def recent(self, coalition_id: int, limit: int = 10) -> Sequence[BroadcastView]:
        return await self.repos.broadcasts.recent(coalition_id, limit)

    async def delivery_counts(self, broadcast: BroadcastView) -> tuple[dict[str, int], int]:
        """Per status, how many channel deliveries; and how many members acknowledged."""
        assert broadcast.id is not None
        counts = await self.repos.outbox.status_counts(SOURCE, broadcast.id)
        return counts, len(await self.repos.broadcasts.acknowledgements(broadcast.id))

    async def acknowledged_at(self, broadcast: BroadcastView, member: MemberView) -> datetime | None:
        found = await self.repos.broadcasts.acknowledgement(broadcast.id or 0, member.id or 0)
        return found.acked_at if found else None

    async def awaiting_acknowledgement(
        self, coalition_id: int, member: MemberView, now: datetime
    ) -> Sequence[BroadcastView]:
        """Recent broadcasts sent and asking for acknowledgement that this member has not acknowledged."""
        asking = [
            b
            for b in await self.repos.broadcasts.recent(coalition_id, limit=20)
            if b.status != "cancelled" and b.ack_enabled and b.send_at <= now
        ]
        done = await self.repos.broadcasts.acknowledged([b.id or 0 for b in asking], member.id or 0)
        return [b for b in asking if b.id not in done]

    def message(self, broadcast: Broadcast, author: Member | None) -> Reply:
        """The broadcast as members read it (its author may since have left: "a former member")."""
        assert broadcast.id is not None
        name = (author.display_name or author.user_id) if author is not None else _("a former member")
        head = _("📣 **Broadcast from {author}** (#{id})").format(author=user_text(name), id=broadcast.id)
        body = user_text(version(broadcast, "text", broadcast.text))
        blocks: list = [Section(f"{head}\n{body}")]
        buttons = []
        if broadcast.ack_enabled:
            blocks.append(Context(_("Please press Acknowledge once you have read this.")))
            buttons.append(Button(_("Acknowledge"), action_id("broadcast", "ack", broadcast.id), "primary"))
        other = the_other(broadcast)
        if other is not None:
            buttons.append(Button(LANGUAGES[other], action_id("content", "other", "broadcast", broadcast.id)))
        if buttons:
            blocks.append(Actions(tuple(buttons)))
        return Reply(text=f"{head}\n{body}", blocks=tuple(blocks), written_in=shown_language(broadcast))

    def _report(self, broadcast: Broadcast, counts: Counter[str], failures: list[str] | None = None) -> Reply:
        total = broadcast.target_count
        delivered = counts[SENT]
        line = ngettext(
            "📬 Broadcast #{id}: delivered {delivered} of {total} channel",
            "📬 Broadcast #{id}: delivered {delivered} of {total} channels",
            total,
        ).format(id=broadcast.id, delivered=delivered, total=total)
        if counts[FAILED]:
            line += _(", {failed} failed (see `/broadcast status {id}`)").format(failed=counts[FAILED], id=broadcast.id)
        if delivered + counts[FAILED] >= total:
            line += _(". Done.")
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
        author = await self.repos.members.by_id(broadcast.author_id) if broadcast.author_id else None
        with speaking(await self.outbox.member_language(author) if author else None):
            if counts[FAILED]:
                status = await self.status(broadcast)
                failures = [
                    _("{channel} on {platform}: {detail}").format(
                        channel=user_text(d.channel), platform=d.platform, detail=d.detail
                    )
                    for d in status.deliveries
                    if d.status == FAILED
                ]
            reply = self._report(broadcast, counts, failures)
        await self.outbox.edit(report, reply, key=_key(broadcast_id, "report-edit"))

    async def cancel(self, broadcast: BroadcastView) -> tuple[int, int]:
        """Withdraw what is not yet sent; returns (withdrawn, already delivered)."""
        assert isinstance(broadcast, Broadcast)  # a view this service handed out: its row
        assert broadcast.id is not None
        withdrawn = await self.repos.outbox.cancel_pending_from(SOURCE, broadcast.id, "post")
        counts = await self.repos.outbox.status_counts(SOURCE, broadcast.id)
        broadcast.status = "cancelled"
        await self.repos.broadcasts.save(broadcast)
        return withdrawn, counts.get(SENT, 0) + counts.get(SENDING, 0)

    async def acknowledge(
        self, broadcast: BroadcastView, member: MemberView, channel: ChannelView | None
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

    async def status(self, broadcast: BroadcastView) -> BroadcastStatus:
        assert isinstance(broadcast, Broadcast)  # a view this service handed out: its row
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
            f"#{by_id[a.channel_id].name}" if a.channel_id in by_id else _("a direct message") for a, _m in acks
        )
        by_sector = Counter((m.sector or _("no sector given")) if m else _("former members") for _a, m in acks)
        author = await self.repos.members.by_id(broadcast.author_id) if broadcast.author_id else None
        return BroadcastStatus(
            broadcast=broadcast,
            author=(author.display_name or author.user_id) if author else _("a former member"),
            deliveries=deliveries,
            counts=Counter(r.status for r in rows),
            acks=acks,
            acks_by_channel=by_channel,
            acks_by_sector=by_sector,
        )

    def _channel_state(self, row: OutboxMessage, channels: dict[tuple[str, str, str], Channel]) -> ChannelState:
        channel = channels.get((row.platform, row.workspace_id, row.channel_id or ""))
        name = f"#{channel.name}" if channel and channel.name else _("channel {id}").format(id=row.channel_id)
        if row.status == SENT:
            detail = _("delivered {at}").format(at=timestamp(row.sent_at, "f")) if row.sent_at else _("delivered")
        elif row.status == FAILED:
            detail = _("failed: {error}").format(error=user_text(row.last_error or _("unknown reason")))
        elif row.status == "cancelled":
            detail = _("cancelled before it was sent")
        else:
            detail = _("pending, next try {at}").format(at=timestamp(row.not_before, "R"))
            if row.last_error:
                detail += _(" (last error: {error})").format(error=user_text(row.last_error))
        return ChannelState(name, row.platform, row.status, detail)

    async def nudge(self, broadcast: BroadcastView, sender: MemberView) -> None:
        """Ask for a private reminder to everyone who has not acknowledged; at most once an hour per
        broadcast. The reminders are queued a slice at a time afterwards (FanoutService), and the
        sender is told how many went out."""
        assert isinstance(broadcast, Broadcast)  # a view this service handed out: its row
        assert broadcast.id is not None
        now = self.clock.now()
        if broadcast.last_nudge_at is not None and now < broadcast.last_nudge_at + NUDGE_EVERY:
            raise BroadcastProblem(
                _("Members were reminded {last}; you can remind them again {next}.").format(
                    last=timestamp(broadcast.last_nudge_at, "R"),
                    next=timestamp(broadcast.last_nudge_at + NUDGE_EVERY, "R"),
                )
            )
        await self.repos.fanouts.ask(broadcast.coalition_id, SOURCE, broadcast.id, sender.id, now)
        broadcast.last_nudge_at = now
        await self.repos.broadcasts.save(broadcast)

    async def nudge_some(self, broadcast: Broadcast, stamp: int, members: Sequence[MemberAddress]) -> int | None:
        """Queue the reminder to those of `members` who have not acknowledged (the author aside);
        None once the broadcast was cancelled."""
        assert broadcast.id is not None
        if broadcast.status == "cancelled":
            return None
        acked = await self.repos.broadcasts.acknowledged_among(broadcast.id, [m.id for m in members])
        waiting = [m for m in members if m.id not in acked and m.id != broadcast.author_id]
        author = await self.repos.members.by_id(broadcast.author_id) if broadcast.author_id else None

        def reminder() -> Reply:
            original = self.message(broadcast, author)
            ask = _("🔔 A reminder to read and acknowledge this broadcast:")
            return Reply(text=f"{ask}\n{original.text}", blocks=(Section(ask), *original.blocks), private=True)

        return await self.outbox.to_members(
            waiting, reminder, key_prefix=_key(broadcast.id, f"nudge:{stamp}:"), source=SOURCE, source_id=broadcast.id
        )
