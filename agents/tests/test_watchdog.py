"""The watchdog (SPEC §10): deadline overruns time out, silent runs are lost (and retried while
attempts remain), pending/due-retry jobs are republished, queued jobs nobody picks up expire,
waiting jobs past their start deadline are canceled (SPEC §14) —
and a dry run reports all of it while changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import services
from agents.models import (
    AgentStatus,
    ControlPlanePulse,
    ErrorKind,
    Job,
    JobAttempt,
    JobStatus,
)
from agents.watchdog import watchdog_run
from tests.factories import AgentFactory


@pytest.fixture
def wall_now():
    """The wall clock at the test's start (the watchdog reads the database's clock)."""
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


def running(make_job, wall_now, *, beat_ago=5, deadline_in=600, **fields):
    return make_job(
        status=JobStatus.RUNNING,
        started_at=wall_now - timedelta(seconds=beat_ago + 1),
        heartbeat_at=wall_now - timedelta(seconds=beat_ago),
        deadline_at=wall_now + timedelta(seconds=deadline_in),
        attempt_row=True,
        **fields,
    )


def scenario(make_job, online, wall_now):
    """One job of each kind the watchdog acts on, plus a healthy one it must leave alone."""
    return {
        "healthy": running(make_job, wall_now),
        "overdue": running(make_job, wall_now, deadline_in=-61),
        "silent": running(make_job, wall_now, beat_ago=61, max_attempts=2),
        "silent_last": running(make_job, wall_now, beat_ago=61, max_attempts=1),
        "stale_pending": make_job(
            status=JobStatus.PENDING, created_at=wall_now - timedelta(minutes=1)
        ),
        "fresh_pending": make_job(status=JobStatus.PENDING, created_at=wall_now),
        "due_retry": make_job(
            status=JobStatus.RETRYING, attempt=2, max_attempts=3, retry_at=wall_now
        ),
        "later_retry": make_job(
            status=JobStatus.RETRYING,
            attempt=2,
            max_attempts=3,
            retry_at=wall_now + timedelta(minutes=5),
        ),
        # Queued behind a busy live agent for longer than the pickup timeout: it waits.
        "waiting_for_slot": make_job(
            status=JobStatus.QUEUED, queued_at=wall_now - timedelta(hours=2)
        ),
        # Its agent's last heartbeat was 700 s ago: dead for 640 s > the 600 s timeout.
        "unclaimed": make_job(
            status=JobStatus.QUEUED,
            queued_at=wall_now - timedelta(hours=1),
            target=agent_last_seen(online, wall_now - timedelta(seconds=700)),
        ),
        # Its agent went silent 100 s ago: it has been dead for 40 s only.
        "recently_offline": make_job(
            status=JobStatus.QUEUED,
            queued_at=wall_now - timedelta(hours=1),
            target=agent_last_seen(online, wall_now - timedelta(seconds=100)),
        ),
        "just_queued": make_job(
            status=JobStatus.QUEUED, queued_at=wall_now - timedelta(seconds=30)
        ),
    }


def agent_last_seen(like, at):
    return AgentFactory(
        organization=like.organization, status=AgentStatus.ONLINE, last_heartbeat_at=at
    )


def ids(*jobs) -> set[str]:
    return {str(j.id) for j in jobs}


def test_it_acts_on_each_kind_of_stale_job(make_job, online, wall_now):
    jobs = scenario(make_job, online, wall_now)

    report = watchdog_run(now=wall_now)

    assert report["timedOut"] == [str(jobs["overdue"].id)]
    assert set(report["lost"]) == ids(jobs["silent"], jobs["silent_last"])
    assert set(report["expired"]) == ids(jobs["unclaimed"])
    # The lost job with attempts left is retried at once, alongside the owed publishes.
    assert set(report["republished"]) == ids(
        jobs["silent"], jobs["stale_pending"], jobs["due_retry"]
    )

    status = dict(Job.objects.values_list("id", "status"))
    assert status[jobs["overdue"].id] == JobStatus.TIMED_OUT
    assert status[jobs["silent_last"].id] == JobStatus.LOST
    assert status[jobs["unclaimed"].id] == JobStatus.FAILED
    for name in ("silent", "stale_pending", "due_retry"):
        assert status[jobs[name].id] == JobStatus.QUEUED, name
    for name in (
        "healthy",
        "fresh_pending",
        "later_retry",
        "just_queued",
        "waiting_for_slot",
        "recently_offline",
    ):
        assert status[jobs[name].id] == jobs[name].status, name

    silent = Job.objects.get(id=jobs["silent"].id)
    assert (silent.attempt, silent.error_kind) == (2, ErrorKind.LOST)
    assert JobAttempt.objects.get(job=silent, number=1).status == JobStatus.LOST
    assert Job.objects.get(id=jobs["unclaimed"].id).error_kind == ErrorKind.AGENT_UNAVAILABLE
    assert JobAttempt.objects.get(job=jobs["overdue"]).status == JobStatus.TIMED_OUT

    again = watchdog_run(now=wall_now)
    assert again == {
        "timedOut": [],
        "lost": [],
        "republished": [],
        "expired": [],
        "startDeadlineExceeded": [],
    }


def test_it_changes_nothing_on_a_dry_run(make_job, online, wall_now):
    jobs = scenario(make_job, online, wall_now)
    before = list(Job.objects.order_by("id").values())

    report = watchdog_run(now=wall_now, dry_run=True)

    assert list(Job.objects.order_by("id").values()) == before
    assert report["timedOut"] == [str(jobs["overdue"].id)]
    assert set(report["lost"]) == ids(jobs["silent"], jobs["silent_last"])
    assert set(report["expired"]) == ids(jobs["unclaimed"])
    assert set(report["republished"]) == ids(
        jobs["silent"], jobs["stale_pending"], jobs["due_retry"]
    )


def test_it_loses_running_jobs_of_an_agent_whose_heartbeat_is_stale(make_job, agent, wall_now):
    agent.status, agent.last_heartbeat_at = AgentStatus.ONLINE, wall_now - timedelta(seconds=90)
    agent.save()
    job = running(make_job, wall_now, beat_ago=1, max_attempts=1)

    assert watchdog_run(now=wall_now)["lost"] == [str(job.id)]
    assert Job.objects.get(id=job.id).status == JobStatus.LOST


def test_it_cancels_a_lost_job_that_was_asked_to_cancel(make_job, online, wall_now):
    job = running(make_job, wall_now, beat_ago=61, max_attempts=3, cancel_requested_at=wall_now)

    report = watchdog_run(now=wall_now)

    assert report["lost"] == [str(job.id)] and report["republished"] == []
    job.refresh_from_db()
    assert (job.status, job.error_kind) == (JobStatus.CANCELED, ErrorKind.CANCELED)


def test_it_expires_waiting_jobs_whose_agent_was_deleted(make_job, wall_now):
    job = make_job(
        status=JobStatus.PENDING, target=None, created_at=wall_now - timedelta(minutes=5)
    )
    assert watchdog_run(now=wall_now)["expired"] == [str(job.id)]
    job.refresh_from_db()
    assert (job.status, job.error_message) == (JobStatus.FAILED, "Its agent was deleted.")


def test_a_starting_agent_counts_as_alive_for_the_start_grace(make_job, agent, wall_now):
    agent.status, agent.last_heartbeat_at = AgentStatus.STARTING, None
    agent.start_requested_at = wall_now - timedelta(minutes=2)  # within START_GRACE (3 min)
    agent.save()
    waiting = make_job(status=JobStatus.QUEUED, queued_at=wall_now - timedelta(hours=1))
    assert watchdog_run(now=wall_now)["expired"] == []
    later = wall_now + timedelta(minutes=1, seconds=601)  # grace ended over 10 min ago
    assert watchdog_run(now=later, dry_run=True)["expired"] == [str(waiting.id)]


def test_it_calls_nothing_lost_until_the_control_plane_was_up_for_the_threshold(
    make_job, online, wall_now
):
    # The control plane (its database) was down for 5 minutes: every runner looks silent.
    ControlPlanePulse.objects.filter(id=1).update(last_seen_at=wall_now - timedelta(minutes=5))
    silent = running(make_job, wall_now, beat_ago=300, max_attempts=2)

    assert watchdog_run(now=wall_now)["lost"] == []  # back up just wall_now
    assert watchdog_run(now=wall_now + timedelta(seconds=30))["lost"] == []
    assert Job.objects.get(id=silent.id).status == JobStatus.RUNNING
    # Still silent a full threshold after the control plane came back: lost, retried.
    assert watchdog_run(now=wall_now + timedelta(seconds=60))["lost"] == [str(silent.id)]


def test_a_runner_that_resumes_heartbeating_after_an_outage_is_never_lost(
    make_job, online, wall_now
):
    ControlPlanePulse.objects.filter(id=1).update(last_seen_at=wall_now - timedelta(minutes=5))
    job = running(make_job, wall_now, beat_ago=300)
    assert watchdog_run(now=wall_now)["lost"] == []
    assert watchdog_run(now=wall_now + timedelta(seconds=30))["lost"] == []
    back = wall_now + timedelta(seconds=45)  # its runner heartbeats again
    Job.objects.filter(id=job.id).update(heartbeat_at=back)
    online.last_heartbeat_at = back
    online.save()
    # Up for a full threshold wall_now, and the job is alive: nothing lost.
    assert watchdog_run(now=wall_now + timedelta(seconds=61))["lost"] == []
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING


# ------------------------------------------------------------------- start deadline (SPEC §14)
# A job still waiting for its first claim past its start_deadline_at is canceled
# (`start_deadline_exceeded`) in one compare-and-swap for the whole set, never republished; one
# within its deadline, a running one and a retry (its first attempt started in time) are left alone.


def waiting(make_job, wall_now, *, deadline_in, status=JobStatus.QUEUED, **fields):
    return make_job(
        status=status,
        queued_at=wall_now - timedelta(minutes=3),
        created_at=wall_now - timedelta(minutes=3),
        start_deadline_at=wall_now + timedelta(seconds=deadline_in),
        **fields,
    )


def deadline_scenario(make_job, wall_now):
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
    jobs = deadline_scenario(make_job, wall_now)

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


def test_a_dry_run_reports_jobs_past_their_start_deadline_and_changes_nothing(
    make_job, online, wall_now
):
    jobs = deadline_scenario(make_job, wall_now)
    before = list(Job.objects.order_by("id").values())

    report = watchdog_run(now=wall_now, dry_run=True)

    assert list(Job.objects.order_by("id").values()) == before
    late = {str(jobs["late_queued"].id), str(jobs["late_pending"].id)}
    assert set(report["startDeadlineExceeded"]) == late
    assert not late & set(report["republished"])


@pytest.mark.parametrize("count", [1, 40])
def test_it_cancels_late_jobs_in_a_constant_number_of_queries(
    count, make_job, online, wall_now, django_assert_num_queries
):
    late = [waiting(make_job, wall_now, deadline_in=-30) for _ in range(count)]

    # Choose and lock the set, then one compare-and-swap (inside the test's transaction, the
    # service's atomic block adds a savepoint and its release); then, in the same transaction,
    # the jobs_settled receivers (schedules' alert outbox: a savepoint, the settled jobs that
    # raise alerts — canceled ones raise none —, its release).
    with django_assert_num_queries(7):
        canceled = services.jobs_cancel_past_start_deadline(now=wall_now)

    assert set(canceled) == {job.id for job in late}
    assert Job.objects.filter(status=JobStatus.CANCELED).count() == count


def test_it_cancels_no_late_job_that_moved_on_meanwhile(make_job, online, wall_now):
    # A claim that won first: the job is running, the cancel's condition no longer holds.
    job = waiting(make_job, wall_now, deadline_in=-30)
    Job.objects.filter(id=job.id).update(status=JobStatus.RUNNING, started_at=wall_now)

    assert services.jobs_cancel_past_start_deadline(now=wall_now) == []
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
