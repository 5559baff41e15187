"""Services: the coalition's rules, on repositories bound to one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.services.broadcasts import BroadcastService
from bot.services.coalitions import CoalitionService
from bot.services.decisions import DecisionService
from bot.services.deliveries import Deliveries
from bot.services.digests import DigestService
from bot.services.doctor import DoctorService, PlatformCheck
from bot.services.email import EmailService
from bot.services.fanouts import FanoutService
from bot.services.feedback import DailyCounts, FeedbackService
from bot.services.feeds import FeedService
from bot.services.funder import FunderReportService
from bot.services.goals import GoalService
from bot.services.governance import GovernanceService
from bot.services.meetings import MeetingService
from bot.services.outbox import Outbox
from bot.services.pages import PageService
from bot.services.polls import PollService
from bot.services.reports import ReportService
from bot.services.stakeholders import StakeholderService
from bot.tallies import SealedTallies
from storage import Repositories


@dataclass
class Services:
    repos: Repositories
    settings: Settings
    clock: Clock
    secret: str  # keys the hashes of anonymous voters (bot.config.anonymity_secret)
    feedback_counts: DailyCounts = field(default_factory=DailyCounts)  # the App passes its own: per process
    # Where members reach the bot's HTTP server (PUBLIC_BASE_URL, or where it listens); None: not serving.
    public_base: str | None = None
    # Open anonymous polls' counts, in this process's memory (bot.tallies); the App passes its own.
    sealed_tallies: SealedTallies = field(default_factory=SealedTallies)
    # Each running platform's own checks (tokens, scopes, channel permissions), for the doctor.
    platform_checks: Mapping[str, PlatformCheck] = field(default_factory=dict)
    # The running platform that delivers to addresses (email), registered by its adapter; None: off.
    mail_platform: str | None = None
    # Platforms whose messages cannot be edited once sent (email): no edits are queued for them.
    unedited: frozenset[str] = frozenset()

    def public_url(self, path: str) -> str | None:
        return None if self.public_base is None else self.public_base.rstrip("/") + path

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.repos, self.clock, self.unedited, self.secret)
        self.deliveries = Deliveries(self.repos, self.clock)
        self.coalitions = CoalitionService(self.repos, self.settings, self.clock)
        self.broadcasts = BroadcastService(self.repos, self.outbox, self.clock)
        self.meetings = MeetingService(self.repos, self.outbox, self.clock)
        self.governance = GovernanceService(self.repos, self.clock, self.meetings)
        self.feeds = FeedService(self.repos, self.clock, self.secret, self.meetings)
        self.polls = PollService(self.repos, self.outbox, self.clock, self.secret, self.sealed_tallies)
        self.decisions = DecisionService(self.repos, self.outbox, self.clock, self.secret)
        self.fanouts = FanoutService(self.repos, self.outbox, self.polls, self.broadcasts)
        self.stakeholders = StakeholderService(self.repos)
        self.reports = ReportService(self.repos, self.clock)
        self.goals = GoalService(self.repos, self.clock, self.reports)
        self.funder = FunderReportService(self.repos, self.clock, self.reports, self.goals)
        self.pages = PageService(
            self.repos, self.clock, self.polls, self.stakeholders, self.reports, self.decisions, self.goals
        )
        self.digests = DigestService(self.repos, self.outbox, self.clock, self.decisions, self.goals)
        self.doctor = DoctorService(self.repos, self.clock, self.platform_checks)
        self.email = EmailService(
            self.repos, self.outbox, self.coalitions, self.digests, self.clock, self.mail_platform
        )
        self.feedback = FeedbackService(self.repos, self.outbox, self.clock, self.secret, self.feedback_counts)

    async def commit(self) -> None:
        """Commit, after the work changes asked for before it (cards redrawn once per transaction)."""
        await self.outbox.before_commit()
        await self.repos.commit()
        self.polls.committed()

    async def rollback(self) -> None:
        await self.repos.rollback()

    async def first_time(self, request_key: str, window: timedelta) -> bool:
        """False when this platform request was carried out already (a replay)."""
        digest = hashlib.sha256(request_key.encode()).hexdigest()
        return await self.repos.requests.claim(digest, self.clock.now(), window)
