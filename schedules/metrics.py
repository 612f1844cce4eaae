"""Prometheus counters for the tick (SPEC §12). Served at /metrics.

With several processes (web, beat/worker, agents) set PROMETHEUS_MULTIPROC_DIR to a shared
empty directory before they start; /metrics then aggregates all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter

if TYPE_CHECKING:
    from schedules.report import Report

TICKS = Counter("mimic_ticks_total", "Tick evaluations.", ["kind", "dry_run"])
DISPATCHES = Counter("mimic_dispatches_total", "Jobs dispatched by the tick.", ["trigger"])
SKIPS = Counter("mimic_skips_total", "Skipped occurrences by reason.", ["reason"])
ERRORS = Counter(
    "mimic_tick_errors_total", "Tick errors by code (executor_locked included).", ["code"]
)
JOB_OUTCOMES = Counter("mimic_job_outcomes_total", "Jobs reaching a status.", ["status"])


def observe_report(report: Report, *, full_tick: bool) -> None:
    TICKS.labels(kind="full" if full_tick else "scoped", dry_run=str(report.dry_run).lower()).inc()
    if report.dry_run:
        return
    for t in report.triggered:
        DISPATCHES.labels(trigger="forced" if "forced" in t.notes else "scheduled").inc()
    for s in report.skipped:
        SKIPS.labels(reason=s.reason).inc()
    for e in report.errors:
        ERRORS.labels(code=e.code).inc()
