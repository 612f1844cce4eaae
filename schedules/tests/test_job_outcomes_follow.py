"""What the schedules app does when a job changes status (the agents app's signal):
lastRunStatus follows the latest job only, and a rejected credential pauses the schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import ErrorKind, Job, JobStatus
from agents.signals import job_status_changed
from schedules.models import ScheduleEvent
from tests.factories import JobFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


def finish(job, status, **kw):
    for k, v in {"status": status, **kw}.items():
        setattr(job, k, v)
    job.save()
    job_status_changed.send(sender=Job, job=job)


def test_it_follows_the_latest_job_only():
    schedule = ScheduleFactory()
    now = timezone.now()
    old = JobFactory(
        schedule=schedule, status=JobStatus.RUNNING, created_at=now - timedelta(minutes=5)
    )
    new = JobFactory(schedule=schedule, status=JobStatus.RUNNING, created_at=now)
    finish(new, JobStatus.SUCCEEDED)
    schedule.refresh_from_db()
    assert schedule.last_run_status == "succeeded"
    finish(old, JobStatus.FAILED)  # an older run finishing late changes nothing
    schedule.refresh_from_db()
    assert schedule.last_run_status == "succeeded"


def test_it_pauses_the_schedule_when_a_credential_is_rejected():
    schedule = ScheduleFactory()
    job = JobFactory(schedule=schedule, status=JobStatus.RUNNING)
    finish(job, JobStatus.FAILED, exit_code=77, error_kind=ErrorKind.CREDENTIAL_REJECTED)
    schedule.refresh_from_db()
    assert schedule.enabled is False
    assert schedule.next_run_at is None
    assert "credential rejected" in schedule.paused_note
    assert ScheduleEvent.objects.filter(schedule=schedule, kind="paused").count() == 1


def test_it_does_not_pause_on_an_ordinary_failure():
    schedule = ScheduleFactory()
    job = JobFactory(schedule=schedule, status=JobStatus.RUNNING)
    finish(job, JobStatus.FAILED, exit_code=1, error_kind=ErrorKind.EXIT_CODE)
    schedule.refresh_from_db()
    assert schedule.enabled is True


@pytest.mark.parametrize(
    ("threshold", "outcomes", "paused"),
    [
        (0, ["failed"] * 5, False),  # off
        (3, ["failed", "failed"], False),
        (3, ["failed", "timed_out", "failed"], True),
        (3, ["failed", "failed", "succeeded", "failed", "failed"], False),  # a success breaks it
        (1, ["timed_out"], True),
        (2, ["canceled", "failed"], False),  # a canceled run is not a failed one
    ],
)
def test_it_auto_pauses_after_n_failed_runs_in_a_row(threshold, outcomes, paused):
    schedule = ScheduleFactory(auto_pause_after_failures=threshold)
    start = timezone.now() - timedelta(hours=1)
    for i, status in enumerate(outcomes):
        job = JobFactory(
            schedule=schedule, status=JobStatus.RUNNING, created_at=start + timedelta(minutes=i)
        )
        finish(job, status)
    schedule.refresh_from_db()
    assert schedule.enabled is not paused
    if paused:
        assert f"after {threshold} failed run(s) in a row" in schedule.paused_note


def test_a_job_canceled_at_its_start_deadline_shows_on_the_schedule(
    django_capture_on_commit_callbacks,
):
    from agents.services import jobs_cancel_past_start_deadline

    schedule = ScheduleFactory()
    now = timezone.now()
    job = JobFactory(
        schedule=schedule,
        status=JobStatus.QUEUED,
        scheduled_for=now - timedelta(minutes=20),
        start_deadline_at=now - timedelta(minutes=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_cancel_past_start_deadline(now=now) == [job.id]

    schedule.refresh_from_db()
    assert schedule.last_run_status == "canceled"
    (event,) = ScheduleEvent.objects.filter(schedule=schedule)
    assert (event.kind, event.reason, event.job_id) == (
        "skipped",
        "start_deadline_exceeded",
        job.id,
    )
    assert event.scheduled_for == job.scheduled_for and event.created_at == now
    assert schedule.enabled is True  # not a failure: no auto-pause streak
