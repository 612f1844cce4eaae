"""Listens to the agents app (which never imports us): a schedule's lastRunStatus follows its
latest job, and a rejected credential pauses the schedule."""

from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.utils import timezone

from agents.models import ErrorKind, Job, JobStatus
from agents.signals import job_status_changed
from schedules import metrics, services
from schedules.models import Schedule


@receiver(job_status_changed, dispatch_uid="schedules.last_run_status")
def follow_latest_job(sender, job, **kwargs) -> None:
    metrics.JOB_OUTCOMES.labels(status=job.status).inc()
    if job.schedule_id is None:
        return
    # Only when no newer job of the schedule exists: an old retry finishing late must not
    # overwrite the status of a newer run. One UPDATE, race-free.
    newer = Job.objects.filter(schedule_id=OuterRef("pk"), created_at__gt=job.created_at)
    Schedule.objects.filter(pk=job.schedule_id).exclude(Exists(newer)).update(
        last_run_status=job.status
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
        services.schedule_pause(schedule=schedule, now=timezone.now(), note=note)
