"""Each state change is one compare-and-swap in agents.services, and announces itself with
job_status_changed after commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import ErrorKind, JobAttempt, JobStatus
from agents.outcomes import Outcome
from agents.services import (
    CancelResult,
    JobNotCancelable,
    job_cancel,
    job_claim,
    job_finish_attempt,
    jobs_heartbeat,
)
from agents.signals import job_status_changed


@pytest.fixture
def announced():
    seen = []

    def receiver(sender, job, **kwargs):
        seen.append((job.id, job.status))

    job_status_changed.connect(receiver, weak=False)
    yield seen
    job_status_changed.disconnect(receiver)


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RETRYING])
def test_it_cancels_a_waiting_job_at_once(
    make_job, status, announced, django_capture_on_commit_callbacks
):
    job = make_job(status=status)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_cancel(job=job, now=timezone.now()) is CancelResult.CANCELED
    job.refresh_from_db()
    assert (job.status, job.error_kind) == (JobStatus.CANCELED, ErrorKind.CANCELED)
    assert announced == [(job.id, JobStatus.CANCELED)]


def test_it_asks_the_runner_to_cancel_a_running_job(make_job):
    job = make_job(status=JobStatus.QUEUED)
    claimed = job_claim(job_id=job.id, agent_id=job.agent_id, now=timezone.now(), hostname="h")
    assert job_cancel(job=job, now=timezone.now()) is CancelResult.REQUESTED
    assert job_cancel(job=job, now=timezone.now()) is CancelResult.REQUESTED  # idempotent
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.cancel_requested_at
    answer = jobs_heartbeat(
        agent_id=job.agent_id, running=[(job.id, claimed.attempt)], now=timezone.now()
    )
    assert (answer.cancel, answer.drop) == ([job.id], [])


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.TIMED_OUT])
def test_it_refuses_to_cancel_a_finished_job(make_job, status):
    job = make_job(status=status)
    with pytest.raises(JobNotCancelable, match=f"already {status}"):
        job_cancel(job=job, now=timezone.now())


def test_it_retries_in_the_database_with_the_delay(
    make_job, announced, django_capture_on_commit_callbacks
):
    job = make_job(max_attempts=3, retry_delay_seconds=300)
    now = timezone.now()
    claimed = job_claim(job_id=job.id, agent_id=job.agent_id, now=now, hostname="h")
    outcome = Outcome(status=JobStatus.RETRYING, error_kind=ErrorKind.TRANSIENT, exit_code=75)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_finish_attempt(job=claimed, attempt=1, now=now, outcome=outcome, log_text="x")
    job.refresh_from_db()
    assert (job.status, job.attempt, job.retry_at) == (
        JobStatus.RETRYING,
        2,
        now + timedelta(seconds=300),
    )
    assert job.finished_at is None
    assert JobAttempt.objects.get(job=job, number=1).status == JobStatus.FAILED
    assert announced == [(job.id, JobStatus.RETRYING)]


def test_it_keeps_the_log_but_not_the_verdict_of_a_superseded_attempt(make_job):
    job = make_job(max_attempts=2)
    now = timezone.now()
    claimed = job_claim(job_id=job.id, agent_id=job.agent_id, now=now, hostname="h")
    # The watchdog gave up on attempt 1 meanwhile (lost, retrying as attempt 2).
    from agents.services import job_mark_lost

    assert job_mark_lost(job_id=job.id, attempt=1, now=now, retry=True, canceled=False)
    answer = jobs_heartbeat(agent_id=job.agent_id, running=[(job.id, 1)], now=now)
    assert (answer.cancel, answer.drop) == ([], [job.id])
    won = job_finish_attempt(
        job=claimed,
        attempt=1,
        now=now,
        outcome=Outcome(status=JobStatus.SUCCEEDED, exit_code=0),
        log_text="late output",
    )
    assert not won
    job.refresh_from_db()
    assert (job.status, job.attempt) == (JobStatus.RETRYING, 2)
    attempt = JobAttempt.objects.get(job=job, number=1)
    assert (attempt.status, attempt.log) == (JobStatus.LOST, "late output")
