"""Listens to the agents app (which never imports us): a schedule's lastRunStatus follows its
latest job; a rejected credential, or too many failed runs in a row, pauses the schedule; a job
canceled at its start deadline is recorded in the schedule's history."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver

from agents.models import ACTIVE_JOB_STATUSES, Agent, AgentStatus, ErrorKind, Job, JobStatus
from agents.signals import job_status_changed, jobs_settled, watchdog_ran
from billing.audit import Actor
from config import clock
from schedules import alert_rules, alerts, services
from schedules.models import EventKind, Schedule, ScheduleEvent, SkipReason
from schedules.selectors import tick_health

# The audit trail's "who" for a pause no person asked for (the note says why).
AUTO_PAUSE = Actor.system("auto-pause")


@receiver(job_status_changed, dispatch_uid="schedules.last_run_status")
def follow_latest_job(sender, job, **kwargs) -> None:
    if job.schedule_id is None:
        return
    # Only when no newer job of the schedule exists: an old retry finishing late must not
    # overwrite the status of a newer run. One UPDATE, race-free.
    # A held job (overlap policy, backfill) is not a run until it is released, and a superseded
    # one never was: neither hides the status of the run before it.
    newer = (
        Job.objects.filter(schedule_id=OuterRef("pk"), created_at__gt=job.created_at)
        .exclude(status=JobStatus.HELD)
        .exclude(error_kind=ErrorKind.SUPERSEDED)
    )
    Schedule.objects.filter(pk=job.schedule_id).exclude(Exists(newer)).update(
        last_run_status=job.status
    )


@receiver(job_status_changed, dispatch_uid="schedules.start_deadline_history")
def record_start_deadline_cancel(sender, job, **kwargs) -> None:
    """A job canceled because it could not start by its start deadline (watchdog or claim): its
    lastRunStatus reads `canceled` (above); the history says why, as the tick's own skip of a
    late occurrence does. Not a failed run: it neither counts toward nor is one of the
    auto-pause streak's failures (FAILED_RUN_STATUSES)."""
    if job.schedule_id is None or job.status != JobStatus.CANCELED:
        return
    if job.error_kind != ErrorKind.START_DEADLINE_EXCEEDED:
        return
    ScheduleEvent.objects.create(
        organization_id=job.organization_id,
        schedule_id=job.schedule_id,
        kind=EventKind.SKIPPED,
        reason=SkipReason.START_DEADLINE_EXCEEDED,
        detail="still waiting for an agent at its start deadline: canceled, never run",
        scheduled_for=job.scheduled_for,
        job_id=job.id,
        trigger=job.trigger,
        created_at=job.finished_at or clock.control_plane_now(),
    )


@receiver(job_status_changed, dispatch_uid="schedules.pause_on_rejected_credential")
def pause_on_rejected_credential(sender, job, **kwargs) -> None:
    """Exit 77 (EX_NOPERM, "credential rejected"): pause at once instead of running again —
    retrying a rejected login locks the account (SPEC §14)."""
    if job.schedule_id is None or job.status != JobStatus.FAILED:
        return
    if job.error_kind != ErrorKind.CREDENTIAL_REJECTED:
        return
    schedule = Schedule.objects.filter(pk=job.schedule_id, enabled=True).first()
    if schedule is not None:
        note = f"auto-paused: job {job.id} exited 77 (credential rejected); fix the vault entry, then resume"
        _auto_pause(schedule, note=note)


# A run that ended without succeeding (`lost` jobs are retried first; their last word is one of
# these or succeeded).
FAILED_RUN_STATUSES = (JobStatus.FAILED, JobStatus.TIMED_OUT)


@receiver(job_status_changed, dispatch_uid="schedules.auto_pause_after_failures")
def pause_after_consecutive_failures(sender, job, **kwargs) -> None:
    """SPEC §14: with `auto_pause_after_failures` = N > 0, the N-th failed run in a row pauses
    the schedule, saying why. Only failures are examined; a success breaks the streak."""
    if job.schedule_id is None or job.status not in FAILED_RUN_STATUSES:
        return
    schedule = Schedule.objects.filter(
        pk=job.schedule_id, enabled=True, auto_pause_after_failures__gt=0
    ).first()
    if schedule is None:
        return
    limit = schedule.auto_pause_after_failures
    # The schedule's latest finished runs (a job still waiting or running is not a verdict).
    latest = list(
        Job.objects.filter(schedule_id=schedule.pk)
        .exclude(status__in=ACTIVE_JOB_STATUSES)
        .order_by("-created_at")
        .values_list("status", flat=True)[:limit]
    )
    if len(latest) == limit and all(status in FAILED_RUN_STATUSES for status in latest):
        note = f"auto-paused after {limit} failed run(s) in a row (latest: job {job.id}); resume when fixed"
        _auto_pause(schedule, note=note)


def _auto_pause(schedule: Schedule, *, note: str) -> None:
    """Pause, and write its schedule_auto_paused alerts in the same transaction."""
    now = clock.control_plane_now()
    with transaction.atomic():
        services.schedule_pause(schedule=schedule, now=now, note=note, actor=AUTO_PAUSE)
        alert = alert_rules.auto_paused_alert(
            organization_id=schedule.organization_id,
            schedule_id=schedule.id,
            schedule_name=schedule.name,
            note=note,
        )
        alerts.alerts_enqueue(candidates=[alert], now=now)


# --- Alerts (SPEC §14): written to the outbox, sent after commit by schedules.tasks ----------


@receiver(jobs_settled, dispatch_uid="schedules.job_alerts")
def alert_on_job_outcome(sender, job_ids, **kwargs) -> None:
    """failed / timed_out / lost (its last word, after retries) / credential_rejected: the
    outbox rows are written inside the transaction that settled the jobs (agents.signals), so
    the alert exists exactly when the outcome does. Two queries: the jobs, then the outbox."""
    rows = Job.objects.filter(id__in=job_ids, status__in=list(alert_rules.JOB_STATUS_EVENTS))
    candidates = []
    for job in rows.values(
        "id",
        "organization_id",
        "status",
        "error_kind",
        "schedule_id",
        "schedule__name",
        "scheduled_for",
    ):
        candidates += alert_rules.job_alerts(
            organization_id=job["organization_id"],
            job_id=job["id"],
            status=job["status"],
            error_kind=job["error_kind"] or "",
            schedule_id=job["schedule_id"],
            schedule_name=job["schedule__name"],
            scheduled_for=job["scheduled_for"],
        )
    if candidates:
        alerts.alerts_enqueue(candidates=candidates, now=clock.control_plane_now())


@receiver(watchdog_ran, dispatch_uid="schedules.watchdog_alerts")
def alert_on_watchdog(sender, now: datetime, **kwargs) -> None:
    """What no job reports, found by the watchdog (beat's, or an external cron's call of
    POST /api/jobs/watchdog when beat itself died): a stale tick; agents that fell silent."""
    candidates = []
    tick = tick_health(now=now)
    stale = timedelta(seconds=settings.ALERT_TICK_STALE_SECONDS)
    if tick.last_tick_at is None or now - tick.last_tick_at > stale:
        candidates.append(
            alert_rules.tick_stale_alert(
                last_tick_at=tick.last_tick_at, age_seconds=tick.age_seconds
            )
        )
    # An agent that was online (it never wrote that it stopped) and whose heartbeat went stale
    # within the last dedup window: one alert per outage, not one per window for ever.
    online = timedelta(seconds=settings.AGENT_ONLINE_SECONDS)
    window = timedelta(minutes=settings.ALERT_DEDUP_MINUTES)
    silent = Agent.objects.filter(
        status=AgentStatus.ONLINE,
        last_heartbeat_at__lte=now - online,
        last_heartbeat_at__gt=now - online - window,
    ).values_list("id", "organization_id", "name", "last_heartbeat_at")
    candidates += [
        alert_rules.agent_offline_alert(
            organization_id=org, agent_id=pk, agent_name=name, last_heartbeat_at=beat
        )
        for pk, org, name, beat in silent
    ]
    alerts.alerts_enqueue(candidates=candidates, now=now)
