"""Prometheus metrics of the tick (SPEC §12), served at /metrics with those of agents.metrics.

Counters and histograms live in the processes that count them (web, worker, beat); with several
processes set PROMETHEUS_MULTIPROC_DIR to a shared empty directory before they start, and
/metrics aggregates all of them. Gauges are read from the database when /metrics is scraped
(`DatabaseGauges`), so any web process answers with the same numbers and nothing runs between
scrapes.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from agents import metrics as agent_metrics
from agents import selectors as agent_selectors
from agents.runtime.logformat import log_event
from config import clock
from schedules.selectors import tick_health

if TYPE_CHECKING:
    from schedules.report import Report

log = logging.getLogger(__name__)

TICKS = Counter("mimic_ticks_total", "Tick evaluations.", ["kind", "dry_run"])
DISPATCHES = Counter("mimic_dispatches_total", "Jobs dispatched by the tick.", ["trigger"])
SKIPS = Counter("mimic_skips_total", "Skipped occurrences by reason.", ["reason"])
ERRORS = Counter(
    "mimic_tick_errors_total", "Tick errors by code (executor_locked included).", ["code"]
)
# The tick runs every minute: an on-time dispatch is 0-60 s late; beyond, the tick fell behind
# (a time budget spent, beat down and caught up).
DISPATCH_LATENESS = Histogram(
    "mimic_dispatch_lateness_seconds",
    "Seconds from a scheduled occurrence's fire instant (its time plus jitter) to its dispatch.",
    buckets=(1, 5, 15, 30, 45, 60, 90, 120, 300, 600, 1800, 3600),
)


def observe_report(report: Report, *, full_tick: bool) -> None:
    TICKS.labels(kind="full" if full_tick else "scoped", dry_run=str(report.dry_run).lower()).inc()
    if report.dry_run:
        return
    # Counted per kind, not per dispatch: a busy tick has ten thousand of them.
    forced = sum(1 for t in report.triggered if "forced" in t.notes)
    if forced:
        DISPATCHES.labels(trigger="forced").inc(forced)
    if len(report.triggered) > forced:
        DISPATCHES.labels(trigger="scheduled").inc(len(report.triggered) - forced)
    for t in report.triggered:
        if t.fire_at is not None:
            late = (report.evaluated_at - t.fire_at).total_seconds()
            DISPATCH_LATENESS.observe(max(0.0, late))
    # Skips and errors too: with two evaluators, each reports the thousands of rows the other
    # holds (lock_contention) — an increment per reason, not per row.
    for reason, n in collections.Counter(s.reason for s in report.skipped).items():
        SKIPS.labels(reason=reason).inc(n)
    for code, n in collections.Counter(e.code for e in report.errors).items():
        ERRORS.labels(code=code).inc(n)


class DatabaseGauges:
    """A prometheus Collector read at scrape time: jobs by status, the oldest waiting job's age,
    agents online, seconds since the last successful tick. Four queries whatever the table
    sizes (the clock, one grouped read of the unfinished jobs, one count of agents, the tick's
    heartbeat row); every age is measured on the control plane's clock. Aggregates only: no
    label names an organization or anything a tenant typed."""

    def collect(self) -> Iterator[Metric]:
        try:
            gauges = list(self._read())
        except DatabaseError:
            # The process's own counters are still worth a scrape; /api/health says why.
            log_event(log, logging.ERROR, "metrics_database_unreadable", exc_info=True)
            gauges = []
        yield GaugeMetricFamily(
            "mimic_database_gauges_up",
            "1 when this scrape read the database gauges, 0 when the database could not be read.",
            value=1 if gauges else 0,
        )
        yield from gauges

    def _read(self) -> Iterator[Metric]:
        now = clock.control_plane_now()
        jobs = agent_selectors.job_counts()
        yield from agent_metrics.job_gauges(
            by_status=jobs.by_status, oldest_waiting_since=jobs.oldest_waiting_since, now=now
        )
        online = agent_selectors.agents_online_count(
            now=now, online_seconds=settings.AGENT_ONLINE_SECONDS
        )
        yield from agent_metrics.agent_gauges(online=online)
        tick = tick_health(now=now)
        if tick.last_tick_at is not None:  # absent until the first successful full tick
            yield GaugeMetricFamily(
                "mimic_seconds_since_last_tick",
                "Seconds since the last successful full tick (the beat tick or the cron endpoint).",
                value=max(0.0, (now - tick.last_tick_at).total_seconds()),
            )
