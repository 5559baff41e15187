"""What the bot counts for whoever runs it, in Prometheus' format (`GET /metrics`).

Labels name commands, clicks, platforms and statuses, never a member, a channel or anything a
member typed: an unknown command is counted as `unknown`, so a typo cannot become a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One registry per App, so two Apps in one process (tests) count apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
