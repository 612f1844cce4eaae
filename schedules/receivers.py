"""Listens to the agents app (which never imports us): a schedule's lastRunStatus follows its
latest job."""

from django.db.models import Exists, OuterRef
from django.dispatch import receiver

from agents.models import Job
from agents.signals import job_status_changed
from schedules import metrics
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
