"""Members who take part by email: joined only by their own consent, reached like a channel.

A coordinator adds an address (or, later, a resident subscribes on the public page); the member is
made at once, with an opaque id and nothing more, and the address is sent one message asking its
owner to confirm. Only a confirmed address becomes a channel of the coalition's email space (its
id is the member's), so from then on broadcasts, cards and digests reach it through the outbox
exactly as they reach a Slack or Discord channel, one delivery per address. Three permanent
failures in a row pause it; leaving or being forgotten removes the channel.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.i18n import _
from bot.markup import user_text
from bot.permissions import Role
from bot.problems import Problem
from bot.replies import Actions, Button, Reply, Section, action_id
from bot.services.coalitions import CoalitionService
from bot.services.digests import DigestService
from bot.services.outbox import Outbox
from bot.views import CoalitionView, EmailAddressView, MemberView
from storage import Repositories
from storage.email import ACTIVE, LEFT, PAUSED, WAITING

__all__ = ["ACTIVE", "LEFT", "PAUSED", "WAITING", "EmailService", "Recipient"]
from storage.models import Coalition, EmailAddress, Member

FAILURES_BEFORE_PAUSE = 3
DIGEST_WEEKDAY, DIGEST_HOUR = 0, 9  # a member on email gets the week ahead on Monday at 9, coalition time
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")


class EmailProblem(Problem):
    """Why an address cannot be added, confirmed or removed, in plain words."""


@dataclass(frozen=True)
class Recipient:
    """Where one delivery goes, for the email adapter."""

    address: str
    name: str
    state: str
    language: str
    coalition: str
    coalition_id: int
    timezone: str  # the member's, else the coalition's: times written out in the mail
    failures: int = 0  # permanent failures in a row (a success resets them)
    member_id: int = 0


def email_space(coalition_id: int) -> str:
    """The workspace id of a coalition's members on email."""
    return f"c{coalition_id}"


def normalise_address(text: str) -> str:
    """An address as stored: trimmed, its domain in lower case. Refused: anything that is not one
    plain address (no name, no second address, no line break that could add a mail header)."""
    address = text.strip()
    if not _ADDRESS.fullmatch(address) or len(address) > 254:
        said = user_text(text[:80])
        raise EmailProblem(_("'{text}' is not an email address like name@example.org.").format(text=said))
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


class EmailService:
    def __init__(
        self,
        repos: Repositories,
        outbox: Outbox,
        coalitions: CoalitionService,
        digests: DigestService,
        clock: Clock,
        platform: str | None,
    ) -> None:
        """`platform`: the name of the running platform that delivers to addresses (the email
        adapter registers it with the App); None when email is not set up."""
        self.repos = repos
        self.outbox = outbox
        self.coalitions = coalitions
        self.digests = digests
        self.clock = clock
        self.platform = platform

    def _platform(self) -> str:
        if self.platform is None:
            raise EmailProblem(
                _(
                    "Email is not set up on this bot yet: whoever runs it sets SMTP_HOST and EMAIL_FROM "
                    "(README, Email members)."
                )
            )
        return self.platform

    async def add(
        self,
        coalition: CoalitionView,
        address: str,
        *,
        name: str | None = None,
        sector: str | None = None,
        language: str | None = None,
    ) -> tuple[MemberView, bool]:
        """The member behind `address`, made if new, and whether a confirmation was sent. An address
        that left or was never confirmed is asked again; an active one is left as it is."""
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        assert coalition.id is not None
        platform = self._platform()
        address = normalise_address(address)
        found = await self.repos.email.by_address(coalition.id, address)
        if found is not None:
            member = await self.repos.members.by_id(found.member_id)
            assert member is not None
            if found.state == ACTIVE:
                return member, False
            found.state, found.failures = WAITING, 0
            await self.repos.email.save(found)
            await self._ask_to_confirm(coalition, member)
            return member, True
        space = await self.repos.coalitions.space(platform, email_space(coalition.id))
        if space is None:
            await self.repos.coalitions.add_space(coalition.id, platform, email_space(coalition.id), platform)
        member = await self.repos.members.add(
            Member(
                coalition_id=coalition.id,
                platform=platform,
                workspace_id=email_space(coalition.id),
                user_id=secrets.token_hex(8),
                display_name=(name or address.partition("@")[0])[:80],
                role=Role.MEMBER.value,
                joined_at=self.clock.now(),
                ballot_salt=secrets.token_hex(16),
                sector=sector,
                sector_chosen=False,  # a coordinator's word for it, until the member says so
                language=language,
            )
        )
        assert member.id is not None
        await self.repos.email.add(
            EmailAddress(coalition_id=coalition.id, member_id=member.id, address=address, created_at=self.clock.now())
        )
        await self._ask_to_confirm(coalition, member)
        return member, True

    async def _ask_to_confirm(self, coalition: Coalition, member: Member) -> None:
        def say() -> Reply:
            name = user_text(coalition.name)
            text = _(
                "{coalition} would like to send you its meeting announcements, polls and updates by email. "
                "You take part only if you confirm; you can leave at any time with the link in every email."
            ).format(coalition=name)
            return Reply(
                text=text,
                blocks=(
                    Section(text),
                    Actions(
                        (
                            Button(
                                _("Yes, send me the coalition's emails"),
                                action_id("subscription", "confirm"),
                                "primary",
                            ),
                            Button(_("No, thank you"), action_id("subscription", "leave")),
                        )
                    ),
                ),
            )

        await self.outbox.to(member, say, key=f"email:confirm:{member.id}:{secrets.token_hex(4)}")

    async def confirm(self, member: MemberView) -> bool:
        """The owner of the address said yes: it becomes a channel of the coalition's email space.
        False when it had been confirmed already."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        row = await self._row(member)
        if row.state == ACTIVE:
            return False
        row.state, row.failures, row.confirmed_at = ACTIVE, 0, self.clock.now()
        await self.repos.email.save(row)
        space = await self.repos.coalitions.space(member.platform, member.workspace_id)
        assert space is not None
        channel = await self.repos.coalitions.channel(member.platform, member.workspace_id, member.user_id)
        if channel is None:
            tags = [member.platform, *([member.sector] if member.sector else [])]  # `--also email` reaches them
            channel = await self.repos.coalitions.link_channel(space, member.user_id, member.display_name, tags)
        channel.every_announcement = True  # no tag to ask for: every meeting and poll reaches them
        if member.language:
            channel.language = member.language
        await self.repos.coalitions.save_channel(channel)
        coalition = await self.repos.coalitions.get(member.coalition_id)
        assert coalition is not None
        # The week ahead, on Monday mornings (the settings page turns it off).
        await self.digests.configure(coalition, channel, DIGEST_WEEKDAY, DIGEST_HOUR)
        return True

    async def week_ahead(self, workspace_id: str, user_id: str, on: bool) -> str:
        """Turn the weekly digest of a member's own mail on or off (theirs alone to choose: in chat,
        a shared channel's digest is the coordinators')."""
        found = await self.repos.email.recipient(self._platform(), workspace_id, user_id)
        channel = await self.repos.coalitions.channel(self._platform(), workspace_id, user_id)
        if found is None or channel is None:
            raise EmailProblem(_("This is not a member on email."))
        coalition = await self.repos.coalitions.get(found[1].coalition_id)
        assert coalition is not None
        await self.digests.configure(coalition, channel, DIGEST_WEEKDAY if on else None, DIGEST_HOUR)
        if on:
            return _("The week ahead comes by email on Monday mornings.")
        return _("No more weekly summary by email.")

    async def leave(self, member: MemberView) -> None:
        """No more mail to this address (its owner's choice, or a coordinator's removal)."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        row = await self._row(member)
        row.state = LEFT
        await self.repos.email.save(row)
        channel = await self.repos.coalitions.channel(member.platform, member.workspace_id, member.user_id)
        if channel is not None:
            await self.coalitions.unlink(channel)

    async def remove(self, coalition: CoalitionView, address: str) -> MemberView:
        assert coalition.id is not None
        found = await self.repos.email.by_address(coalition.id, normalise_address(address))
        if found is None:
            raise EmailProblem(_("No member of this coalition is on email at that address."))
        member = await self.repos.members.by_id(found.member_id)
        assert member is not None
        await self.leave(member)
        return member

    async def listed(self, coalition: CoalitionView) -> Sequence[tuple[EmailAddressView, MemberView]]:
        assert coalition.id is not None
        return await self.repos.email.listed(coalition.id)

    async def address_of(self, member: Member) -> EmailAddress | None:
        return await self.repos.email.of_member(member.id or 0)

    async def recipient(self, workspace_id: str, user_id: str) -> Recipient | None:
        """Where a delivery to this member (or their channel) goes, and in which language."""
        found = await self.repos.email.recipient(self._platform(), workspace_id, user_id)
        if found is None:
            return None
        return await self._recipient(*found)

    async def recipients(self, workspace_id: str) -> dict[str, Recipient]:
        """Every member on email of one coalition's email space, by user id (one read for a broadcast)."""
        found = await self.repos.email.in_space(self._platform(), workspace_id)
        if not found:
            return {}
        coalition = await self.repos.coalitions.get(found[0][1].coalition_id)
        return {member.user_id: await self._recipient(row, member, coalition) for row, member in found}

    async def _recipient(self, row: EmailAddress, member: Member, coalition: Coalition | None = None) -> Recipient:
        coalition = coalition or await self.repos.coalitions.get(member.coalition_id)
        assert coalition is not None
        return Recipient(
            row.address,
            member.display_name,
            row.state,
            await self.outbox.member_language(member),
            coalition.name,
            coalition.id or 0,
            member.timezone or coalition.timezone,
            row.failures,
            member.id or 0,
        )

    async def delivered(self, workspace_id: str, user_id: str) -> None:
        found = await self.repos.email.recipient(self._platform(), workspace_id, user_id)
        if found is not None and found[0].failures:
            found[0].failures = 0
            await self.repos.email.save(found[0])

    async def refused(self, workspace_id: str, user_id: str, reason: str) -> bool:
        """The mail server refused this address for good; True when that paused it (three in a row)."""
        found = await self.repos.email.recipient(self._platform(), workspace_id, user_id)
        if found is None:
            return False
        row = found[0]
        row.failures += 1
        row.last_error = reason[:300]
        paused = row.failures >= FAILURES_BEFORE_PAUSE and row.state == ACTIVE
        if paused:
            row.state = PAUSED
        await self.repos.email.save(row)
        return paused

    async def _row(self, member: Member) -> EmailAddress:
        row = await self.repos.email.of_member(member.id or 0)
        if row is None:
            raise EmailProblem(_("This is not a member on email."))
        return row


STATES = {WAITING: "waiting", ACTIVE: "active", PAUSED: "paused", LEFT: "left"}
