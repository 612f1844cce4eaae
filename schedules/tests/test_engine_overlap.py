"""Overlap policy and the release of held jobs (SPEC §14) through the real engine, PostgreSQL
and Redis: queue_one keeps only the newest blocked occurrence and dispatches it once when the
slot frees, never after its start deadline; replace cancels the active jobs and its occurrence
is released only after they have ended; held jobs are released oldest first under the limit;
billing, vault and agent gates apply at release; the release costs constant queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.dispatch import agent_queue
from agents.models import Agent, AgentStatus, ErrorKind, Job, JobStatus, Trigger
from billing.models import MonthlyUsage
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import ScheduleEvent
from tests.factories import AgentFactory, JobFactory

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def tick(now, **kw):
    # The online agent keeps heartbeating while the test's clock moves on.
    Agent.objects.filter(status=AgentStatus.ONLINE).update(last_heartbeat_at=now)
    kw.setdefault("use_executor_lock", False)
    return report_json(run_tick(now=now, **kw))


def running_job(s, now):
    return JobFactory(schedule=s, status=JobStatus.RUNNING, started_at=now - MINUTE)


def finish(job, now, status=JobStatus.SUCCEEDED):
    Job.objects.filter(id=job.id).update(status=status, finished_at=now)


def held_job(s, scheduled_for, **kw):
    kw.setdefault("trigger", Trigger.BACKFILL)
    return JobFactory(schedule=s, status=JobStatus.HELD, scheduled_for=scheduled_for, **kw)


def test_queue_one_dispatches_the_newest_blocked_occurrence_exactly_once(now, make_due):
    s = make_due(cron_expression="* * * * *", overlap_policy="queue_one")
    first = running_job(s, now)
    t0 = now.replace(second=0)

    for i in range(3):  # three blocked occurrences in a row, one a minute
        report = tick(now + i * MINUTE)
        assert report["triggeredSchedules"] == []
        [skip] = report["skipped"]
        assert skip["reason"] == "concurrency_limit"
        assert skip["detail"].startswith("held: 1 active job(s), limit 1")

    jobs = {j.scheduled_for: j for j in Job.objects.filter(schedule=s).exclude(id=first.id)}
    assert sorted(jobs) == [t0, t0 + MINUTE, t0 + 2 * MINUTE]
    assert jobs[t0 + 2 * MINUTE].status == JobStatus.HELD
    for older in (t0, t0 + MINUTE):
        assert (jobs[older].status, jobs[older].error_kind) == ("canceled", "superseded")
    assert jobs[t0 + 2 * MINUTE].idempotency_key == f"{s.id}:2026-11-26T14:02:00Z"
    s.refresh_from_db()
    assert s.last_run_status == ""  # counted at release, not while held
    assert not MonthlyUsage.objects.exists()

    # Still running: nothing is released.
    assert tick(now + 2 * MINUTE + timedelta(seconds=20))["triggeredSchedules"] == []

    finish(first, now + 2 * MINUTE)
    report = tick(now + 2 * MINUTE + timedelta(seconds=30))
    assert report["errors"] == []
    [released] = report["triggeredSchedules"]
    assert released["notes"] == ["released"]
    assert released["jobId"] == str(jobs[t0 + 2 * MINUTE].id)
    assert Job.objects.get(id=released["jobId"]).status == JobStatus.QUEUED
    s.refresh_from_db()
    assert s.last_run_status == "pending"
    assert MonthlyUsage.objects.get(organization=s.organization).runs == 1
    assert ScheduleEvent.objects.filter(
        schedule=s, kind="triggered", job_id=released["jobId"]
    ).exists()

    # Never two: the next tick releases nothing more.
    assert tick(now + 2 * MINUTE + timedelta(seconds=40))["triggeredSchedules"] == []
    dispatched = Job.objects.filter(schedule=s).exclude(id=first.id)
    assert dispatched.exclude(status=JobStatus.CANCELED).count() == 1


def test_a_held_occurrence_is_never_released_after_its_start_deadline(now, make_due):
    s = make_due(overlap_policy="queue_one", start_deadline_minutes=1)
    first = running_job(s, now)
    tick(now)
    held = Job.objects.get(schedule=s, status=JobStatus.HELD)
    assert held.start_deadline_at == now.replace(second=0) + MINUTE

    finish(first, now + MINUTE)
    report = tick(now.replace(second=0) + MINUTE + timedelta(seconds=1))
    assert report["triggeredSchedules"] == []
    held.refresh_from_db()
    assert held.status == JobStatus.HELD  # the watchdog cancels it; the release refused it


def test_a_dry_run_says_it_would_hold_and_writes_nothing(now, make_due):
    s = make_due(overlap_policy="replace")
    first = running_job(s, now)
    report = tick(now, dry_run=True)
    assert report["triggeredSchedules"] == []
    [skip] = report["skipped"]
    assert skip["reason"] == "concurrency_limit" and skip["detail"].startswith("held:")
    assert list(Job.objects.filter(schedule=s)) == [first]
    first.refresh_from_db()
    assert first.cancel_requested_at is None


def test_skip_is_the_default_and_holds_nothing(now, make_due):
    s = make_due()
    running_job(s, now)
    [skip] = tick(now)["skipped"]
    assert (skip["reason"], skip["detail"]) == ("concurrency_limit", "1 active job(s), limit 1")
    assert not Job.objects.filter(status=JobStatus.HELD).exists()


def test_replace_cancels_waiting_jobs_at_once_and_asks_running_ones_to_stop(now, make_due):
    s = make_due(overlap_policy="replace", concurrency_limit=2)
    first = running_job(s, now)
    waiting = JobFactory(schedule=s, status=JobStatus.QUEUED)
    [skip] = tick(now)["skipped"]
    assert skip["detail"].startswith("held: 2 active job(s), limit 2; overlap policy replace")

    waiting.refresh_from_db()
    assert (waiting.status, waiting.error_kind) == (JobStatus.CANCELED, ErrorKind.CANCELED)
    assert waiting.error_message == (
        "Replaced by the occurrence at 2026-11-26T14:00:00Z (overlap policy replace)."
    )
    first.refresh_from_db()
    assert first.status == JobStatus.RUNNING and first.cancel_requested_at == now
    held = Job.objects.get(schedule=s, status=JobStatus.HELD)

    # A slot is free (limit 2, one running), but the job it replaces has not ended yet.
    assert tick(now + timedelta(seconds=20))["triggeredSchedules"] == []
    finish(first, now + timedelta(seconds=25), status=JobStatus.CANCELED)
    report = tick(now + timedelta(seconds=30))
    assert [t["jobId"] for t in report["triggeredSchedules"]] == [str(held.id)]


def test_replace_under_limit_one_releases_only_once_the_canceled_job_ended(now, make_due):
    s = make_due(overlap_policy="replace")
    first = running_job(s, now)
    tick(now)
    first.refresh_from_db()
    assert first.cancel_requested_at == now
    held = Job.objects.get(schedule=s, status=JobStatus.HELD)

    assert tick(now + timedelta(seconds=20))["triggeredSchedules"] == []
    finish(first, now + timedelta(seconds=25), status=JobStatus.CANCELED)
    report = tick(now + timedelta(seconds=30))
    assert [t["jobId"] for t in report["triggeredSchedules"]] == [str(held.id)]


def test_held_jobs_are_released_oldest_first_under_limit_one(now, make_due):
    s = make_due(next_run_at=now + timedelta(hours=5))
    t = now.replace(second=0) - timedelta(hours=3)
    # Created newest first: the order is scheduled_for's, not the insertion's.
    third, second, first = (held_job(s, t + i * timedelta(hours=1)) for i in (2, 1, 0))
    order = []
    for i in range(3):
        report = tick(now + i * MINUTE)
        [released] = report["triggeredSchedules"]
        order.append(released["jobId"])
        assert Job.objects.filter(schedule=s, status=JobStatus.HELD).count() == 2 - i
        Job.objects.filter(id=released["jobId"]).update(status=JobStatus.SUCCEEDED)
    assert order == [str(first.id), str(second.id), str(third.id)]


def test_a_held_job_is_published_to_its_own_agent_after_its_schedule_moved(
    now, make_due, org, online_agent, redis_client
):
    # What runs is snapshotted on the job, its agent too: an edit of the schedule while the job
    # waits must not send its message to a queue whose runner cannot claim it.
    s = make_due(next_run_at=now + timedelta(hours=5))
    job = held_job(s, now - timedelta(hours=1), agent=online_agent)
    elsewhere = AgentFactory(organization=org, status=AgentStatus.ONLINE, last_heartbeat_at=now)
    s.agent = elsewhere
    s.save()
    [released] = tick(now)["triggeredSchedules"]
    assert released["jobId"] == str(job.id)
    assert redis_client.llen(agent_queue(online_agent.id)) == 1
    assert redis_client.llen(agent_queue(elsewhere.id)) == 0


def test_a_backfilled_held_job_is_not_superseded(now, make_due):
    s = make_due(overlap_policy="queue_one")
    running_job(s, now)
    backfilled = held_job(s, now - timedelta(days=1))
    tick(now)
    backfilled.refresh_from_db()
    assert backfilled.status == JobStatus.HELD
    assert Job.objects.filter(schedule=s, status=JobStatus.HELD).count() == 2


@pytest.mark.parametrize(
    ("block", "reason", "error_kind"),
    [
        ("billing", "billing_blocked", ErrorKind.BILLING_BLOCKED),
        ("vault", "vault_keys_missing", ErrorKind.VAULT_KEY_MISSING),
        ("agent", "agent_unavailable", ErrorKind.AGENT_UNAVAILABLE),
    ],
)
def test_gates_apply_at_release(now, make_due, org, online_agent, block, reason, error_kind):
    s = make_due(next_run_at=now + timedelta(hours=5))
    job = held_job(
        s, now - timedelta(hours=1), vault_keys=["SAP_PASSWORD"] if block == "vault" else []
    )
    if block == "billing":
        org.billing_status = "suspended"
        org.save()
    if block == "agent":
        online_agent.last_heartbeat_at = now - timedelta(hours=1)
        online_agent.status = "offline"
        online_agent.save()
    report = tick(now)
    assert report["triggeredSchedules"] == []
    [skip] = report["skipped"]
    assert skip["reason"] == reason and skip["detail"].startswith("held job released into a gate")
    job.refresh_from_db()
    assert (job.status, job.error_kind) == (JobStatus.CANCELED, error_kind)
    event = ScheduleEvent.objects.get(schedule=s, job=job)
    assert (event.kind, event.reason) == ("skipped", reason)


def test_a_dry_run_and_a_single_schedule_execution_release_nothing(now, make_due):
    s = make_due(next_run_at=now + timedelta(hours=5))
    held_job(s, now - timedelta(hours=1))
    assert tick(now, dry_run=True)["triggeredSchedules"] == []
    assert tick(now, schedule_id=s.id)["triggeredSchedules"] == []
    assert Job.objects.get(schedule=s).status == JobStatus.HELD


def test_the_release_costs_the_same_queries_for_5_and_50_schedules(
    now, make_due, django_assert_num_queries
):
    def held_batch(n, at):
        for _ in range(n):
            s = make_due(
                next_run_at=now + timedelta(hours=5), concurrency_limit=2, overlap_policy="replace"
            )
            held_job(s, at)
            held_job(s, at + MINUTE)

    held_batch(5, now - timedelta(hours=2))
    with CaptureQueriesContext(connection) as small:
        report = run_tick(now=now, use_executor_lock=True)
    assert len(report.triggered) == 10, report
    held_batch(50, now - timedelta(hours=1))
    with django_assert_num_queries(len(small.captured_queries)):
        report = run_tick(now=now + timedelta(seconds=20), use_executor_lock=True)
    assert len(report.triggered) == 100, report


def test_the_release_walks_every_schedule_in_batches(now, make_due, settings):
    settings.TICK_BATCH_SIZE = 2
    jobs = [held_job(make_due(next_run_at=now + timedelta(hours=5)), now) for _ in range(5)]
    report = tick(now)
    assert {t["jobId"] for t in report["triggeredSchedules"]} == {str(j.id) for j in jobs}
