"""Scheduler down for 3 hours over an hourly schedule: one catch-up run inside the catch-up
window, the others recorded as `missed`; none when outside it. With a start deadline (SPEC
§14), a catch-up past it is skipped `start_deadline_exceeded` (an event, no job); one in time
runs and its job carries the deadline instant the watchdog and the claim go by."""

import pytest

from agents.models import Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import EventKind, ScheduleEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def agent_alive_at_half_past(online_agent, now):
    online_agent.last_heartbeat_at = now.replace(minute=30)
    online_agent.save()


def test_it_catches_up_once_inside_the_window(now, make_due):
    back_at = now.replace(minute=30)  # 14:30:05; down since before 11:00
    s = make_due(
        cron_expression="0 * * * *",
        catch_up_window_minutes=60,
        next_run_at=now.replace(hour=11, second=0),
    )
    report = report_json(run_tick(now=back_at, use_executor_lock=False))

    job = Job.objects.get(schedule=s)
    assert job.scheduled_for == now.replace(hour=14, second=0)
    assert report["triggeredSchedules"][0]["notes"] == ["catch_up"]
    missed = ScheduleEvent.objects.filter(schedule=s, reason="missed").order_by("scheduled_for")
    assert [e.scheduled_for.hour for e in missed] == [11, 12, 13]
    s.refresh_from_db()
    assert s.next_run_at == now.replace(hour=15, second=0)


def test_it_does_not_catch_up_outside_the_window(now, make_due):
    back_at = now.replace(minute=30)
    s = make_due(
        cron_expression="0 * * * *",
        catch_up_window_minutes=15,
        next_run_at=now.replace(hour=11, second=0),
    )
    report = report_json(run_tick(now=back_at, use_executor_lock=False))

    assert report["triggeredSchedules"] == []
    assert not Job.objects.filter(schedule=s).exists()
    missed = ScheduleEvent.objects.filter(schedule=s, reason="missed").order_by("scheduled_for")
    assert [e.scheduled_for.hour for e in missed] == [11, 12, 13, 14]
    assert report["skipped"] == [
        {
            "scheduleId": str(s.id),
            "reason": "missed",
            "detail": "4 occurrence(s) missed (catch-up window 15 min)",
        }
    ]
    s.refresh_from_db()
    assert s.next_run_at == now.replace(hour=15, second=0)


def test_it_never_bursts_on_the_next_tick(now, make_due):
    s = make_due(cron_expression="0 * * * *", next_run_at=now.replace(hour=11, second=0))
    run_tick(now=now.replace(minute=30), use_executor_lock=False)
    report = report_json(run_tick(now=now.replace(minute=31), use_executor_lock=False))
    assert report["triggeredSchedules"] == []
    assert Job.objects.filter(schedule=s).count() == 1


def test_a_catch_up_past_its_start_deadline_is_skipped_with_the_reason(now, make_due):
    back_at = now.replace(minute=30)  # 14:30:05: 14:00's run was due to start by 14:10
    s = make_due(
        cron_expression="0 * * * *",
        catch_up_window_minutes=60,
        start_deadline_minutes=10,
        next_run_at=now.replace(second=0),
    )
    report = report_json(run_tick(now=back_at, use_executor_lock=False))

    assert report["triggeredSchedules"] == []
    assert not Job.objects.filter(schedule=s).exists()
    (event,) = ScheduleEvent.objects.filter(schedule=s)
    assert (event.kind, event.reason) == (EventKind.SKIPPED, "start_deadline_exceeded")
    assert event.scheduled_for == now.replace(second=0)
    assert [skip["reason"] for skip in report["skipped"]] == ["start_deadline_exceeded"]
    s.refresh_from_db()
    assert s.next_run_at == now.replace(hour=15, second=0)  # not retried


def test_a_catch_up_within_its_start_deadline_runs_with_the_deadline_on_its_job(now, make_due):
    s = make_due(
        cron_expression="0 * * * *",
        catch_up_window_minutes=60,
        start_deadline_minutes=45,
        next_run_at=now.replace(second=0),
    )
    run_tick(now=now.replace(minute=30), use_executor_lock=False)

    job = Job.objects.get(schedule=s)
    assert job.scheduled_for == now.replace(second=0)
    assert job.start_deadline_at == now.replace(minute=45, second=0)
