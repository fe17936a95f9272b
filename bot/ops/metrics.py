"""The bot's Prometheus metrics, in a registry of their own (one per running bot, so several can live in
one process, as in the tests): answers and their latency, counted as they happen; the outbox and the
sources' health, read from the store when scraped (refresh). Must not import telegram or aiohttp.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Answer time in seconds: most answers take tens of milliseconds, a busy bot a second or more.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PENDING = "pending"  # the outbox status of alerts still to be delivered


class Metrics:
    """What /metrics shows, named newsbot_*."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.answers = Counter(
            "newsbot_answers", "Questions answered in chats (a reply sent)", registry=self.registry
        )
        self.answer_seconds = Histogram(
            "newsbot_answer_seconds",
            "Time from a question's arrival to its answer being sent",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.alerts = Gauge(
            "newsbot_alerts",
            "Alerts in the outbox by status: pending (queued), sent, failed, parked",
            ["status"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "newsbot_outbox_depth", "Alerts waiting to be delivered", registry=self.registry
        )
        self.source_up = Gauge(
            "newsbot_source_up",
            "1 when a source's last poll worked, 0 while it is failing or paused",
            ["source"],
            registry=self.registry,
        )
        self.source_failures = Gauge(
            "newsbot_source_failures", "A source's failed polls in a row", ["source"], registry=self.registry
        )

    def answered(self, seconds: float) -> None:
        """Count one answer sent, which took `seconds`."""
        self.answers.inc()
        self.answer_seconds.observe(seconds)

    def outbox(self, counts: Mapping[str, int]) -> None:
        """The outbox's rows per status, as the store counts them."""
        for status, count in counts.items():
            self.alerts.labels(status=str(status)).set(count)
        self.outbox_depth.set(counts.get(PENDING, 0))

    def sources(self, health: Iterable[tuple[str, int, bool]]) -> None:
        """Each source's (label, failures in a row, paused); sources no longer listed disappear."""
        self.source_up.clear()
        self.source_failures.clear()
        for label, failures, paused in health:
            self.source_up.labels(source=label).set(0 if paused or failures else 1)
            self.source_failures.labels(source=label).set(failures)

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)
