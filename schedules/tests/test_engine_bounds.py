"""The tick on real PostgreSQL with bounds, a run budget and one-time runs: each fires as often
as it may and then the schedule stops — nextRunAt null, the reason on the row, and the stop
recorded as a skipped event."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from agents.models import Job, Trigger
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import Schedule, ScheduleEvent, StopReason

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def agent_alive_for_the_next_minutes(online_agent, now):
    # These tests tick minute after minute; the agent's heartbeat keeps it online for all of them.
    online_agent.last_heartbeat_at = now + 3 * MINUTE
    online_agent.save()


def tick(at, **kw):
    return report_json(run_tick(now=at, use_executor_lock=False, **kw))


def test_a_one_time_run_fires_once_then_stops(now, make_due):
    run_at = now.replace(second=0)
    s = make_due(cron_expression="", run_at=run_at, next_run_at=run_at)

    report = tick(now)

    job = Job.objects.get(schedule=s)
    assert (job.scheduled_for, job.trigger) == (run_at, Trigger.SCHEDULED)
    assert report["triggeredSchedules"][0]["jobId"] == str(job.id)
    s.refresh_from_db()
    assert (s.next_run_at, s.stopped_reason) == (None, StopReason.RAN_ONCE)
    assert tick(now + MINUTE)["triggeredSchedules"] == []
    assert Job.objects.filter(schedule=s).count() == 1


def test_a_one_time_run_missed_beyond_the_catch_up_window_is_skipped_then_stops(now, make_due):
    run_at = now.replace(second=0) - timedelta(hours=3)
    s = make_due(cron_expression="", run_at=run_at, next_run_at=run_at, catch_up_window_minutes=60)

    report = tick(now)

    assert report["triggeredSchedules"] == []
    assert [sk["reason"] for sk in report["skipped"]] == ["missed"]
    assert not Job.objects.filter(schedule=s).exists()
    event = ScheduleEvent.objects.get(schedule=s)
    assert (event.reason, event.scheduled_for) == ("missed", run_at)
    s.refresh_from_db()
    assert (s.next_run_at, s.stopped_reason) == (None, StopReason.ONCE_SKIPPED)


def test_a_budget_of_two_gives_exactly_two_jobs_then_stops(now, make_due):
    start = now.replace(second=0)
    s = make_due(
        cron_expression="* * * * *", remaining_runs=2, next_run_at=start, concurrency_limit=10
    )

    first = tick(now)
    s.refresh_from_db()
    assert (s.remaining_runs, s.next_run_at, s.stopped_reason) == (1, start + MINUTE, "")
    assert first["skipped"] == []

    second = tick(now + MINUTE)
    s.refresh_from_db()
    assert (s.remaining_runs, s.next_run_at) == (0, None)
    assert s.stopped_reason == StopReason.RUN_BUDGET_SPENT
    assert [sk["reason"] for sk in second["skipped"]] == ["run_budget_spent"]
    stop = ScheduleEvent.objects.get(schedule=s, reason="run_budget_spent")
    assert (stop.kind, stop.scheduled_for) == ("skipped", start + 2 * MINUTE)

    assert tick(now + 2 * MINUTE)["triggeredSchedules"] == []
    assert sorted(Job.objects.filter(schedule=s).values_list("scheduled_for", flat=True)) == [
        start,
        start + MINUTE,
    ]


def test_a_skipped_occurrence_spends_nothing(now, make_due, online_agent):
    online_agent.status = "disabled"
    online_agent.save()
    s = make_due(remaining_runs=1)

    assert [sk["reason"] for sk in tick(now)["skipped"]] == ["agent_unavailable"]

    s.refresh_from_db()
    assert (s.remaining_runs, s.stopped_reason) == (1, "")
    assert s.next_run_at == now.replace(second=0) + timedelta(days=1)


def test_the_end_bound_stops_it_after_the_last_run_before_it(now, make_due):
    s = make_due(cron_expression="0 * * * *", ends_at=now.replace(minute=30, second=0))

    report = tick(now)

    assert len(report["triggeredSchedules"]) == 1
    assert report["skipped"] == [
        {
            "scheduleId": str(s.id),
            "reason": "ended",
            "detail": "ends at 2026-11-26T14:30:00Z: no run at or after it; the schedule stops",
        }
    ]
    s.refresh_from_db()
    assert (s.next_run_at, s.stopped_reason) == (None, StopReason.ENDED)
    stop = ScheduleEvent.objects.get(schedule=s, reason="ended")
    assert stop.scheduled_for == now.replace(hour=15, second=0)


def test_the_dry_run_reports_the_stop_and_writes_nothing(now, make_due):
    s = make_due(remaining_runs=1)

    report = tick(now, dry_run=True)

    assert len(report["triggeredSchedules"]) == 1
    assert [sk["reason"] for sk in report["skipped"]] == ["run_budget_spent"]
    s.refresh_from_db()
    assert (s.remaining_runs, s.stopped_reason) == (1, "")
    assert not ScheduleEvent.objects.filter(schedule=s).exists()


def test_run_now_runs_a_stopped_schedule_without_spending_or_rearming_it(now, make_due):
    # A forced run is manual (decisions.py): allowed after the end or the budget, and it
    # leaves both alone.
    s = make_due(remaining_runs=1, concurrency_limit=2)
    tick(now)
    s.refresh_from_db()
    assert s.stopped_reason == StopReason.RUN_BUDGET_SPENT

    report = tick(now + MINUTE, force=True, schedule_id=s.id)

    assert Job.objects.filter(schedule=s, trigger=Trigger.FORCED).count() == 1
    assert report["skipped"] == []
    s.refresh_from_db()
    assert (s.remaining_runs, s.next_run_at) == (0, None)
    assert s.stopped_reason == StopReason.RUN_BUDGET_SPENT


def test_executing_a_stopped_schedule_says_why_it_does_not_run(now, make_due):
    s = make_due(cron_expression="", run_at=now.replace(second=0))
    tick(now)
    report = tick(now + MINUTE, schedule_id=s.id)
    assert report["skipped"] == [
        {"scheduleId": str(s.id), "reason": "not_due", "detail": "stopped (ran_once): no next run"}
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_spend_a_budget_of_two_exactly_once_each(now, make_due) -> None:
    start = now.replace(second=0)
    s = make_due(
        cron_expression="* * * * *", remaining_runs=2, next_run_at=start, concurrency_limit=10
    )
    gate = threading.Barrier(4)
    crashes: list[BaseException] = []

    def evaluator():
        try:
            gate.wait()
            for minute in range(4):
                run_tick(now=now + minute * MINUTE, use_executor_lock=False)
        except BaseException as exc:  # reported below, in the test's thread
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluator) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert crashes == []
    assert Job.objects.filter(schedule=s).count() == 2
    s = Schedule.objects.get(pk=s.pk)
    assert (s.remaining_runs, s.next_run_at) == (0, None)
    assert s.stopped_reason == StopReason.RUN_BUDGET_SPENT
    assert ScheduleEvent.objects.filter(schedule=s, reason="run_budget_spent").count() == 1


def test_the_last_budgeted_run_at_the_end_bound_stops_it_as_ended(now, make_due):
    # The run that spends the budget is also the last before endsAt: one job, remainingRuns 0,
    # and the row says `ended` (the end bound wins) — written, not refused by a constraint.
    start = now.replace(second=0)
    s = make_due(
        cron_expression="* * * * *",
        remaining_runs=1,
        next_run_at=start,
        ends_at=start + MINUTE,
        concurrency_limit=10,
    )

    report = tick(now)

    assert report["errors"] == []
    assert len(report["triggeredSchedules"]) == 1
    s.refresh_from_db()
    assert (s.remaining_runs, s.next_run_at, s.stopped_reason) == (0, None, StopReason.ENDED)
    assert [sk["reason"] for sk in report["skipped"]] == ["ended"]
