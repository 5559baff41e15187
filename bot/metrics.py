"""What the bot counts for whoever runs it, in Prometheus' format (`GET /metrics`).

Labels name commands, clicks, platforms and statuses, never a member, a channel or anything a
member typed: an unknown command is counted as `unknown`, so a typo cannot become a label.
"""

from __future__ import annotations

import platform
from importlib import metadata

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)

# `_created` series double every counter's and histogram's lines and tell a dashboard nothing the
# process start time does not.
disable_created_metrics()

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One registry per App, so two Apps in one process (tests) count apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The process (memory, CPU, open files, start time) and Python (version, garbage collector).
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        Info("coalition_build", "The running version", registry=self.registry).info(
            {"version": _version(), "python": platform.python_version()}
        )
        self.database_up = Gauge(
            "coalition_database_up", "1 when the database answered the last check, else 0", registry=self.registry
        )
        self.outbox_oldest = Gauge(
            "coalition_outbox_oldest_waiting_seconds",
            "Age of the oldest message due and not yet delivered, by platform (0 when none waits)",
            ["platform"],
            registry=self.registry,
        )
        self.scheduler_success = Gauge(
            "coalition_scheduler_last_success_timestamp_seconds",
            "When the scheduler last finished a wake-up (Unix time)",
            registry=self.registry,
        )
        self.events = Counter(
            "coalition_events",
            "Commands and clicks handled, by kind (command, click, home), name and outcome (ok, error)",
            ["kind", "name", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "coalition_event_seconds",
            "Time from a command or click arriving to its answer",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox = Gauge(
            "coalition_outbox_messages",
            "Outbox rows by platform and status (pending, sending, failed), read at each scrape",
            ["platform", "status"],
            registry=self.registry,
        )
        self.delivery = Histogram(
            "coalition_delivery_seconds",
            "From when a message was due to when the platform took it",
            ["platform"],
            buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "coalition_rate_limited", "429 answers from a platform", ["platform"], registry=self.registry
        )
        self.reminders = Gauge(
            "coalition_meeting_reminders",
            "Meeting reminders by status (pending, sent, missed: fell due while the bot was down too long)",
            ["status"],
            registry=self.registry,
        )
        self.reconnects = Counter(
            "coalition_platform_reconnects",
            "Connections to a platform made again",
            ["platform"],
            registry=self.registry,
        )

    def event(self, kind: str, name: str, ok: bool, seconds: float) -> None:
        self.events.labels(kind, name, "ok" if ok else "error").inc()
        self.latency.labels(kind).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _version() -> str:
    try:
        return metadata.version("coalition-bot")
    except metadata.PackageNotFoundError:
        return "unknown"
