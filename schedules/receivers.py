"""Listens to the agents app (which never imports us): a schedule's lastRunStatus follows its
latest job; a rejected credential, or too many failed runs in a row, pauses the schedule; a job
canceled at its start deadline is recorded in the schedule's history."""

from django.db.models import Exists, OuterRef
from django.dispatch import receiver

from agents.models import ACTIVE_JOB_STATUSES, ErrorKind, Job, JobStatus
from agents.signals import job_status_changed
from billing.audit import Actor
from config import clock
from schedules import services
from schedules.models import EventKind, Schedule, ScheduleEvent, SkipReason

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
        services.schedule_pause(
            schedule=schedule, now=clock.control_plane_now(), note=note, actor=AUTO_PAUSE
        )


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
        services.schedule_pause(
            schedule=schedule, now=clock.control_plane_now(), note=note, actor=AUTO_PAUSE
        )
