"""Prometheus metrics of jobs and agents (SPEC §12), counted where a job's outcome is recorded:
on the control plane, by agents.services, after the transition's transaction commits (a
rolled-back transition is never counted). The agent runtime counts nothing: its process serves
no /metrics, and it imports no part of this app.

Gauges are read from the database at scrape time (`job_gauges`, in schedules.metrics' collector),
never kept in memory: every web process answers a scrape with the same numbers.

Labels are bounded enums (a status, an error kind): never an organization, a schedule's name
or anything a tenant typed, never a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from agents.models import FINISHED_JOB_STATUSES, Job

JOB_OUTCOMES = Counter(
    "mimic_job_outcomes_total",
    "Jobs reaching a final status (succeeded, failed, timed_out, lost, canceled), by error kind.",
    ["status", "error_kind"],
)
# From seconds to a working day: max runtimes run to 720 minutes by default.
JOB_DURATION = Histogram(
    "mimic_job_duration_seconds",
    "Run time of a job's last attempt (claim to its end), for runs that ended, by final status.",
    ["status"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200),
)


def observe_settled(jobs: Iterable[Job], *, ran: bool) -> None:
    """Count jobs whose transition to a final status has committed. `ran`: the transition ended
    a running attempt (finish, timed out, lost), so its run time is observed too; a job canceled
    or expired while it waited never ran (a retrying one's earlier attempt was already over)."""
    for job in jobs:
        if job.status not in FINISHED_JOB_STATUSES:
            continue  # not ours to count: another transition moved it
        JOB_OUTCOMES.labels(status=job.status, error_kind=job.error_kind or "none").inc()
        if ran and job.started_at is not None and job.finished_at is not None:
            seconds = max(0.0, (job.finished_at - job.started_at).total_seconds())
            JOB_DURATION.labels(status=job.status).observe(seconds)


def observe_settled_unstarted(*, status: str, error_kind: str, count: int) -> None:
    """Count `count` jobs that ended without ever running, in one transition whose status and
    error kind are known (superseded held occurrences): nothing to read back."""
    if count:
        JOB_OUTCOMES.labels(status=status, error_kind=error_kind or "none").inc(count)


def job_gauges(
    *, by_status: dict[str, int], oldest_waiting_since: datetime | None, now: datetime
) -> Iterator[Metric]:
    """The jobs' gauges, from one grouped read (agents.selectors.job_counts)."""
    jobs = GaugeMetricFamily(
        "mimic_jobs",
        "Jobs not yet finished, by status (finished ones: mimic_job_outcomes_total).",
        labels=["status"],
    )
    for status, n in by_status.items():
        jobs.add_metric([status], n)
    yield jobs
    oldest = oldest_waiting_since
    age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    yield GaugeMetricFamily(
        "mimic_oldest_waiting_job_age_seconds",
        "Seconds the oldest pending or queued job has waited for an agent (since it was "
        "queued, or created if never published); 0 when none waits.",
        value=age,
    )


def agent_gauges(*, online: int) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "mimic_agents_online",
        "Agents online: a heartbeat younger than AGENT_ONLINE_SECONDS, neither stopped nor "
        "disabled (agents.readiness).",
        value=online,
    )
