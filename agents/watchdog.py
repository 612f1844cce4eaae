"""The stale-job watchdog (SPEC §10): keeps every queue recoverable after crashes and outages.

Run every 30 s by beat (`agents.tasks.run_watchdog`) and by `POST /api/jobs/watchdog`:

- first, the agents' Redis users are synced (agents.broker: re-created after a restart).
- running past deadline + JOB_DEADLINE_GRACE_SECONDS -> `timed_out`. The runtime kills the
  process group at the deadline itself; reaching this means it did not report (stuck or dead).
  A live runtime is answered `drop` on its next heartbeat and kills the tree.
- running with a stale job or agent heartbeat (older than AGENT_ONLINE_SECONDS, the lost
  threshold, counted only while the control plane was up: agents.models.ControlPlanePulse)
  -> `lost`; a lost run is transient, so it is retried at once (`retrying`, retry_at=now)
  while attempts remain. Runners kill their scripts before that threshold when they cannot
  confirm their claims (fencing), so a retry never overlaps the first run.
  A job with a pending cancel request becomes `canceled` instead.
- `pending` never published and `retrying` whose retry_at passed -> republished
  (agents.dispatch.jobs_republish_due); `queued` jobs an alive agent with a free slot has not
  taken for JOB_REQUEUE_AFTER_SECONDS and whose message is no longer in its queue (a broker
  restarted without persistence) -> republished (agents.dispatch.jobs_republish_vanished).
- `pending`/`queued` jobs not yet started whose start deadline passed (SPEC §14: scheduled_for
  + the schedule's startDeadlineMinutes, snapshotted as start_deadline_at) -> `canceled`
  (start_deadline_exceeded): a run that could not start in time is not started late. One
  compare-and-swap for the whole set, before anything is republished. A retry is not subject
  to it (its first attempt started in time).
- `queued` for an agent that has not been alive for JOB_PICKUP_TIMEOUT_SECONDS (or was
  deleted) -> `failed` (agent_unavailable), which frees its schedule's concurrency slot. A job
  waiting for a slot on a live, busy agent is never expired: its wait shows as queuedAt ->
  startedAt. A message that shows up later is dropped by the runner's claim.

Every change is one compare-and-swap per job in agents.services, so two watchdogs (beat and the
endpoint) or a watchdog racing a runner never decide the same job twice. A dry run reports what
would happen and writes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from agents import broker, selectors, services
from agents.dispatch import jobs_republish_due, jobs_republish_vanished
from agents.runtime.logformat import log_event
from agents.signals import watchdog_ran

log = logging.getLogger(__name__)


def watchdog_run(*, now: datetime, dry_run: bool = False) -> dict[str, list[str]]:
    """One pass; returns the ids acted on (or that would be, for a dry run):
    `{"timedOut": [...], "lost": [...], "republished": [...], "expired": [...],
    "startDeadlineExceeded": [...]}`."""
    report: dict[str, list[str]] = {
        "timedOut": [],
        "lost": [],
        "republished": [],
        "expired": [],
        "startDeadlineExceeded": [],
    }
    if not dry_run:
        _sync_broker_users()

    grace = timedelta(seconds=settings.JOB_DEADLINE_GRACE_SECONDS)
    for job_id, attempt in selectors.jobs_past_deadline(now=now, grace=grace):
        if dry_run or services.job_mark_timed_out(job_id=job_id, attempt=attempt, now=now):
            report["timedOut"].append(str(job_id))

    timed_out = set(report["timedOut"])
    retried: list[str] = []
    # Lost only after the threshold passed while the control plane was itself up (fencing):
    # right after an outage, every runner is silent — the fenced ones report themselves, the
    # others resume heartbeating — so nothing is called lost until a full threshold of uptime.
    threshold = timedelta(seconds=settings.AGENT_ONLINE_SECONDS)
    pulse = services.control_plane_up_since if dry_run else services.control_plane_pulse
    up_since = pulse(now=now, max_gap=threshold)
    stale_jobs = (
        selectors.jobs_running_stale(now=now, online_seconds=settings.AGENT_ONLINE_SECONDS)
        if now - up_since >= threshold
        else []
    )
    for stale in stale_jobs:
        if str(stale.id) in timed_out:
            continue  # a dry run sees the same row in both sets
        retry = stale.attempt < stale.max_attempts and not stale.cancel_requested
        status: str | None  # None: someone else settled the job first (nothing to count)
        if dry_run:
            status = "retrying" if retry else "lost"
        else:
            status = services.job_mark_lost(
                job_id=stale.id,
                attempt=stale.attempt,
                now=now,
                retry=retry,
                canceled=stale.cancel_requested,
            )
        if status:
            report["lost"].append(str(stale.id))
            if status == "retrying":
                retried.append(str(stale.id))

    # Before the pickup timeout and the republish: a job past its start deadline is canceled
    # for that reason, and never published again.
    late = (
        selectors.jobs_past_start_deadline(now=now)
        if dry_run
        else services.jobs_cancel_past_start_deadline(now=now)
    )
    report["startDeadlineExceeded"] = [str(i) for i in late]
    late_ids = set(report["startDeadlineExceeded"])

    pickup = timedelta(seconds=settings.JOB_PICKUP_TIMEOUT_SECONDS)
    for job_id, reason in selectors.jobs_unclaimed(
        now=now, pickup_timeout=pickup, online_seconds=settings.AGENT_ONLINE_SECONDS
    ):
        if str(job_id) in late_ids:
            continue  # a dry run sees the same row in both sets
        if dry_run or services.job_expire_unclaimed(job_id=job_id, now=now, reason=reason):
            report["expired"].append(str(job_id))

    if dry_run:
        due = [str(i) for i in selectors.jobs_due_for_republish(now=now) if str(i) not in late_ids]
        report["republished"] = list(dict.fromkeys([*due, *retried]))
    else:
        published = jobs_republish_due(now=now)
        report["republished"] = [str(i) for i in published.published]
        if published.failed:
            log_event(log, logging.WARNING, "watchdog_republish_failed", jobs=len(published.failed))

    # Queued jobs whose message vanished (a broker restarted without persistence).
    candidates = selectors.jobs_queued_for_free_agents(
        now=now,
        online_seconds=settings.AGENT_ONLINE_SECONDS,
        queued_before=now - timedelta(seconds=settings.JOB_REQUEUE_AFTER_SECONDS),
    )
    candidates = [(job, agent) for job, agent in candidates if str(job) not in late_ids]
    vanished = jobs_republish_vanished(candidates=candidates, dry_run=dry_run)
    report["republished"] += [str(i) for i in vanished.published]
    if not dry_run:
        try:
            watchdog_ran.send(sender=None, now=now)
        except Exception:  # a listener's bug must not lose the watchdog's report
            log_event(log, logging.ERROR, "watchdog_listener_failed", exc_info=True)
    return report


def _sync_broker_users() -> None:
    """The agents' Redis users (SPEC §7), re-created after a Redis restart without persistence —
    on every pass, whoever runs it (beat's task or an external cron's endpoint), before anything
    is republished for them to consume."""
    try:
        broker.broker_users_sync()  # logs its own broker errors
    except Exception:  # the watchdog's report must not be lost to a broker-side problem
        log_event(log, logging.ERROR, "broker_users_sync_failed", exc_info=True)
