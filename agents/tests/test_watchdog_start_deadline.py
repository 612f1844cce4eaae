"""The start deadline on the watchdog's side (SPEC §14): a job still waiting for its first claim
past its start_deadline_at is canceled (`start_deadline_exceeded`) in one compare-and-swap for
the whole set, never republished; one within its deadline, a running one and a retry (its first
attempt started in time) are left alone. Real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import services
from agents.models import AgentStatus, ControlPlanePulse, ErrorKind, Job, JobStatus
from agents.watchdog import watchdog_run


@pytest.fixture
def wall_now():
    return timezone.now()


@pytest.fixture(autouse=True)
def _watchdog_settings(settings, redis_url):
    settings.AGENT_ONLINE_SECONDS = 60
    settings.JOB_DEADLINE_GRACE_SECONDS = 60
    settings.JOB_PICKUP_TIMEOUT_SECONDS = 600


@pytest.fixture(autouse=True)
def _control_plane_up_for_an_hour(db, wall_now):
    ControlPlanePulse.objects.create(
        id=1, last_seen_at=wall_now - timedelta(seconds=30), up_since=wall_now - timedelta(hours=1)
    )


@pytest.fixture
def online(agent, wall_now):
    agent.status, agent.last_heartbeat_at = AgentStatus.ONLINE, wall_now
    agent.save()
    return agent


def waiting(make_job, wall_now, *, deadline_in, status=JobStatus.QUEUED, **fields):
    return make_job(
        status=status,
        queued_at=wall_now - timedelta(minutes=3),
        created_at=wall_now - timedelta(minutes=3),
        start_deadline_at=wall_now + timedelta(seconds=deadline_in),
        **fields,
    )


def scenario(make_job, wall_now):
    return {
        "late_queued": waiting(make_job, wall_now, deadline_in=-1),
        # Never published (the dispatch's publish failed): canceled, not republished.
        "late_pending": waiting(make_job, wall_now, deadline_in=-60, status=JobStatus.PENDING),
        "within": waiting(make_job, wall_now, deadline_in=60),
        "at_the_instant": waiting(make_job, wall_now, deadline_in=0),
        "no_deadline": make_job(status=JobStatus.QUEUED, queued_at=wall_now - timedelta(minutes=3)),
        "running": make_job(
            status=JobStatus.RUNNING,
            started_at=wall_now - timedelta(seconds=5),
            heartbeat_at=wall_now,
            deadline_at=wall_now + timedelta(minutes=10),
            start_deadline_at=wall_now - timedelta(minutes=1),
            attempt_row=True,
        ),
        # Its first attempt started in time, then failed transiently: the retry is not late.
        "retry_queued": waiting(
            make_job,
            wall_now,
            deadline_in=-600,
            attempt=2,
            max_attempts=3,
            started_at=wall_now - timedelta(minutes=20),
        ),
    }


def test_it_cancels_waiting_jobs_past_their_start_deadline(make_job, online, wall_now):
    jobs = scenario(make_job, wall_now)

    report = watchdog_run(now=wall_now)

    late = {str(jobs["late_queued"].id), str(jobs["late_pending"].id)}
    assert set(report["startDeadlineExceeded"]) == late
    assert not late & set(report["republished"])
    assert not late & set(report["expired"])
    for name in ("late_queued", "late_pending"):
        job = Job.objects.get(id=jobs[name].id)
        assert (job.status, job.error_kind) == (
            JobStatus.CANCELED,
            ErrorKind.START_DEADLINE_EXCEEDED,
        ), name
        assert job.finished_at == wall_now and job.started_at is None, name
        assert "start deadline" in job.error_message, name
    for name in ("within", "at_the_instant", "no_deadline", "running", "retry_queued"):
        assert Job.objects.get(id=jobs[name].id).status == jobs[name].status, name

    assert watchdog_run(now=wall_now)["startDeadlineExceeded"] == []


def test_a_dry_run_reports_them_and_changes_nothing(make_job, online, wall_now):
    jobs = scenario(make_job, wall_now)
    before = list(Job.objects.order_by("id").values())

    report = watchdog_run(now=wall_now, dry_run=True)

    assert list(Job.objects.order_by("id").values()) == before
    late = {str(jobs["late_queued"].id), str(jobs["late_pending"].id)}
    assert set(report["startDeadlineExceeded"]) == late
    assert not late & set(report["republished"])


@pytest.mark.parametrize("count", [1, 40])
def test_it_cancels_a_batch_in_a_constant_number_of_queries(
    count, make_job, online, wall_now, django_assert_num_queries
):
    late = [waiting(make_job, wall_now, deadline_in=-30) for _ in range(count)]

    # Choose and lock the set, then one compare-and-swap (inside the test's transaction, the
    # service's atomic block adds a savepoint and its release).
    with django_assert_num_queries(4):
        canceled = services.jobs_cancel_past_start_deadline(now=wall_now)

    assert set(canceled) == {job.id for job in late}
    assert Job.objects.filter(status=JobStatus.CANCELED).count() == count


def test_it_cancels_nothing_that_moved_on_meanwhile(make_job, online, wall_now):
    # A claim that won first: the job is running, the cancel's condition no longer holds.
    job = waiting(make_job, wall_now, deadline_in=-30)
    Job.objects.filter(id=job.id).update(status=JobStatus.RUNNING, started_at=wall_now)

    assert services.jobs_cancel_past_start_deadline(now=wall_now) == []
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
