"""Queries of the outbox: enqueue, claim, record.

Claiming is a conditional UPDATE: a row moves to `sending` only if it is still `pending` (or its
previous claimer's lease has run out). Two processes on one database therefore never both own a
row: on PostgreSQL the candidates are selected FOR UPDATE SKIP LOCKED, so a second process takes
the next rows instead of the same ones, and the UPDATE re-checks the condition; on SQLite
transactions are serialised (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, Integer, String, Text, and_, case, cast, delete, func, insert, literal, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import upsert
from storage.models import Member, Occurrence, OutboxMessage, Poll
from storage.types import UTCDateTime

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"


@dataclass(frozen=True)
class Claimed:
    row: OutboxMessage
    maybe_sent_before: bool  # a previous attempt may have reached the platform


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: OutboxMessage) -> OutboxMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def add_private_many(
        self,
        member_ids: list[int],
        *,
        payload: str,
        key_prefix: str,
        source: str,
        source_id: int | None,
        now: datetime,
    ) -> int:
        """The same private message to many members, keyed `key_prefix` + member id, in one INSERT
        ... SELECT from their rows: the database copies where each one is reached, so a reminder to
        20,000 members passes 20,000 ids, not 20,000 rows of fifteen values each."""
        if not member_ids:
            return 0
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        members = Member.__table__  # type: ignore[attr-defined]
        columns = {
            "coalition_id": members.c.coalition_id,
            "kind": literal("dm", String),
            "platform": members.c.platform,
            "workspace_id": members.c.workspace_id,
            "user_id": members.c.user_id,
            "payload": literal(payload, Text),
            "dedupe_key": literal(key_prefix, String) + cast(members.c.id, String),
            "source": literal(source, String),
            "source_id": literal(source_id, Integer),
            "status": literal(PENDING, String),
            "not_before": literal(now, UTCDateTime),
            "attempts": literal(0, Integer),
            "version": literal(1, Integer),
            "maybe_sent": literal(False, Boolean),
            "created_at": literal(now, UTCDateTime),
        }
        rows = select(*columns.values()).where(members.c.id.in_(member_ids))  # type: ignore[call-overload]
        await self.session.exec(insert(table).from_select(list(columns), rows))  # type: ignore[call-overload]
        return len(member_ids)

    async def insert_edit(self, message: OutboxMessage) -> None:
        """A new edit row, or, when another process queued one for the same message in the
        meantime, new content for that one: an upsert, so two processes editing one card never
        collide on the unique key (and never roll back a batch of votes over it)."""
        values = {c.name: getattr(message, c.name) for c in OutboxMessage.__table__.columns if c.name != "id"}  # type: ignore[attr-defined]
        statement = upsert(self.session, OutboxMessage).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[OutboxMessage.dedupe_key],
            set_={
                "payload": statement.excluded.payload,
                "version": OutboxMessage.version + 1,
                "status": _rearmed_status(),
                "not_before": statement.excluded.not_before,
            },
        )
        await self.session.exec(statement)  # type: ignore[call-overload]

    async def prune(self, before: datetime) -> int:
        """Forget deliveries finished before `before`, keeping every row something may still look
        up by its key or edit: a card of a poll still open or of a meeting still to come, and any
        message a kept edit refers to."""
        finished = col(OutboxMessage.status).in_([SENT, FAILED, CANCELLED])
        # A row is sent after it is made: created before `before` is implied, and its index keeps
        # the daily pass to the rows old enough, not every row kept.
        old = and_(
            col(OutboxMessage.created_at) < before,
            func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < before,
        )
        removed = await self.session.exec(  # type: ignore[call-overload]
            delete(OutboxMessage).where(finished, old, OutboxMessage.kind == "edit")
        )
        editing = aliased(OutboxMessage)
        referenced = select(editing.edit_of_id).where(col(editing.edit_of_id).is_not(None))
        open_polls = select(Poll.id).where(Poll.status == "open")
        coming = select(Occurrence.id).where(Occurrence.start >= before)
        result = await self.session.exec(  # type: ignore[call-overload]
            delete(OutboxMessage).where(
                finished,
                old,
                col(OutboxMessage.id).not_in(referenced),
                ~and_(OutboxMessage.source == "poll", col(OutboxMessage.source_id).in_(open_polls)),
                ~and_(OutboxMessage.source == "meeting", col(OutboxMessage.source_id).in_(coming)),
            )
        )
        return int(removed.rowcount or 0) + int(result.rowcount or 0)

    async def by_key(self, key: str) -> OutboxMessage | None:
        return (await self.session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))).first()

    async def get(self, row_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, row_id)

    async def for_source(self, source: str, source_id: int) -> list[OutboxMessage]:
        result = await self.session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.source == source, OutboxMessage.source_id == source_id)
            .order_by(col(OutboxMessage.id))
        )
        return list(result.all())

    async def failed_since(self, since: datetime, coalition_id: int | None = None) -> list[tuple[str, str, int]]:
        """(platform, last error, rows) for deliveries that failed for good since `since`: one
        coalition's, or every coalition's."""
        query = (
            select(OutboxMessage.platform, OutboxMessage.last_error, func.count())  # type: ignore[call-overload]
            .where(OutboxMessage.status == FAILED, OutboxMessage.created_at >= since)
            .group_by(OutboxMessage.platform, OutboxMessage.last_error)
        )
        if coalition_id is not None:
            query = query.where(OutboxMessage.coalition_id == coalition_id)
        result = await self.session.exec(query)
        return [(p, e or "no reason recorded", int(n)) for p, e, n in result.all()]

    async def open_counts(self) -> list[tuple[str, str, int]]:
        """(platform, status, rows) for what is not delivered: pending, sending and failed."""
        result = await self.session.exec(
            select(OutboxMessage.platform, OutboxMessage.status, func.count())  # type: ignore[call-overload]
            .where(col(OutboxMessage.status).in_([PENDING, SENDING, FAILED]))
            .group_by(OutboxMessage.platform, OutboxMessage.status)
        )
        return [(p, s, int(n)) for p, s, n in result.all()]

    async def oldest_waiting(self, now: datetime) -> dict[str, datetime]:
        """Per platform, since when the oldest message due and not delivered has been due."""
        result = await self.session.exec(
            select(OutboxMessage.platform, func.min(OutboxMessage.not_before))  # type: ignore[call-overload]
            .where(col(OutboxMessage.status).in_([PENDING, SENDING]), OutboxMessage.not_before <= now)
            .group_by(OutboxMessage.platform)
        )
        return {p: _aware(due) for p, due in result.all() if due is not None}

    async def status_counts(self, source: str, source_id: int, kind: str = "post") -> dict[str, int]:
        result = await self.session.exec(
            select(OutboxMessage.status, func.count())
            .where(
                OutboxMessage.source == source,
                OutboxMessage.source_id == source_id,
                OutboxMessage.kind == kind,
            )
            .group_by(OutboxMessage.status)
        )
        return {status: int(n) for status, n in result.all()}

    async def cancel_pending(self, *conditions: object) -> int:
        result = await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.status == PENDING, *conditions)
            .values(status=CANCELLED, last_error="cancelled before it was sent")
        )
        return int(result.rowcount or 0)

    async def cancel_pending_from(self, source: str, source_id: int, kind: str | None = None) -> int:
        """Withdraw what a broadcast, an action item, ... queued and has not sent yet."""
        conditions = [OutboxMessage.source == source, OutboxMessage.source_id == source_id]
        if kind is not None:
            conditions.append(OutboxMessage.kind == kind)
        return await self.cancel_pending(*conditions)

    async def cancel_pending_posts_to(self, platform: str, workspace_id: str, channel_id: str) -> int:
        """Withdraw every post still queued for one channel (it is being unlinked)."""
        return await self.cancel_pending(
            OutboxMessage.platform == platform,
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.channel_id == channel_id,
            OutboxMessage.kind == "post",
        )

    async def next_due(self, platform: str) -> datetime | None:
        pending = await self.session.exec(
            select(func.min(OutboxMessage.not_before)).where(
                OutboxMessage.platform == platform, OutboxMessage.status == PENDING
            )
        )
        stale = await self.session.exec(
            select(func.min(OutboxMessage.lease_until)).where(
                OutboxMessage.platform == platform, OutboxMessage.status == SENDING
            )
        )
        times = [t for t in (pending.one(), stale.one()) if t is not None]
        return min(_aware(t) for t in times) if times else None

    async def claim(
        self, platform: str, owner: str, now: datetime, lease: timedelta, limit: int, per_channel: int | None = None
    ) -> list[Claimed]:
        """Take up to `limit` due rows for this process, and at most `per_channel` for any one
        channel (what the platform lets one channel receive at once): the rest of a channel's burst
        stays for the next claim, this process's or another's. The caller commits at once."""
        claimable = and_(
            col(OutboxMessage.status).in_([PENDING, SENDING]),  # the partial index ix_outbox_claimable
            or_(
                and_(OutboxMessage.status == PENDING, OutboxMessage.not_before <= now),
                and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now),
            ),
        )
        found = (
            await self.session.exec(
                select(
                    OutboxMessage.id,
                    OutboxMessage.maybe_sent,
                    OutboxMessage.status,
                    OutboxMessage.workspace_id,
                    OutboxMessage.channel_id,
                    OutboxMessage.user_id,
                )
                .where(OutboxMessage.platform == platform, claimable)
                .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
                .limit(limit if per_channel is None else limit * 4)
                # PostgreSQL: rows another process is claiming are skipped, not waited for and lost.
                .with_for_update(skip_locked=True)
            )
        ).all()
        taken: Counter[tuple[str, str | None, str | None]] = Counter()
        candidates = []
        for row_id, maybe, status, workspace, channel, user in found:
            where = (workspace, channel, None if channel else user)
            if len(candidates) == limit or (per_channel is not None and taken[where] >= per_channel):
                continue
            taken[where] += 1
            candidates.append((row_id, maybe, status))
        if not candidates:
            return []
        # A row found in `sending` was abandoned mid-attempt: it may have been delivered.
        earlier = {row_id: bool(maybe) or status == SENDING for row_id, maybe, status in candidates}
        result = await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(earlier)), claimable)
            .values(
                status=SENDING,
                lease_owner=owner,
                lease_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
                maybe_sent=True,
            )
            .returning(OutboxMessage.id)
        )
        got = [row_id for (row_id,) in result.all()]
        if not got:
            return []
        rows = (
            await self.session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(got))
                .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
                .execution_options(populate_existing=True)
            )
        ).all()
        return [Claimed(row, earlier[row.id]) for row in rows if row.id is not None]

    async def renew(self, owner: str, until: datetime) -> None:
        await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.lease_owner == owner, OutboxMessage.status == SENDING)
            .values(lease_until=until)
        )

    async def mark_sent(self, row_id: int, owner: str, version: int, message_id: str, now: datetime) -> bool:
        """Record a delivery; False when the row was re-armed with newer content meanwhile (edits)."""
        result = await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.lease_owner == owner, OutboxMessage.version == version)
            .values(
                status=SENT, message_id=message_id, sent_at=now, maybe_sent=False, lease_until=None, last_error=None
            )
        )
        if result.rowcount:
            return True
        # Newer content arrived while we sent the old: keep the message id, send again.
        await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.lease_owner == owner)
            .values(status=PENDING, message_id=message_id, sent_at=now, maybe_sent=False, lease_until=None)
        )
        return False

    async def mark_retry(
        self,
        row_id: int,
        owner: str,
        not_before: datetime,
        error: str,
        *,
        maybe_sent: bool,
        refund_attempt: bool = False,
    ) -> None:
        """Put a row back for later; a rate-limit wait (`refund_attempt`) does not use up an attempt."""
        attempts = OutboxMessage.attempts - 1 if refund_attempt else OutboxMessage.attempts
        await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.lease_owner == owner)
            .values(
                status=PENDING,
                not_before=not_before,
                last_error=error[:500],
                maybe_sent=maybe_sent,
                lease_until=None,
                attempts=attempts,
            )
        )

    async def mark_failed(self, row_id: int, owner: str, error: str) -> None:
        await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.lease_owner == owner)
            .values(status=FAILED, last_error=error[:500], maybe_sent=False, lease_until=None)
        )

    async def rearm(self, row: OutboxMessage, payload: str, not_before: datetime) -> None:
        """New content for an edit row: bump its version so an in-flight older edit is sent again."""
        await self.session.exec(  # type: ignore[call-overload]
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(
                payload=payload,
                version=OutboxMessage.version + 1,
                status=_rearmed_status(),
                not_before=not_before,
            )
        )


def _rearmed_status() -> object:
    """An edit being sent stays `sending` (its sender re-queues it on seeing the new version);
    anything else becomes `pending` again."""
    return case((OutboxMessage.status == SENDING, SENDING), else_=PENDING)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
