"""Services: the coalition's rules, on repositories bound to one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.services.broadcasts import BroadcastService
from bot.services.coalitions import CoalitionService
from bot.services.feedback import FeedbackService
from bot.services.governance import GovernanceService
from bot.services.meetings import MeetingService
from bot.services.outbox import Outbox
from bot.services.polls import PollService
from storage import Repositories


@dataclass
class Services:
    repos: Repositories
    settings: Settings
    clock: Clock
    secret: str  # keys the hashes of anonymous voters (bot.config.anonymity_secret)

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.repos, self.clock)
        self.coalitions = CoalitionService(self.repos, self.settings, self.clock)
        self.broadcasts = BroadcastService(self.repos, self.outbox, self.clock)
        self.governance = GovernanceService(self.repos, self.clock)
        self.meetings = MeetingService(self.repos, self.outbox, self.clock)
        self.polls = PollService(self.repos, self.outbox, self.clock, self.secret)
        self.feedback = FeedbackService(self.repos, self.outbox, self.clock, self.secret)
