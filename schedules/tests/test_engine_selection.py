"""Selection: due rows oldest first, up to `limit`, in batches; the rest waits for the next tick."""

from datetime import timedelta

import pytest

from agents.models import Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick

pytestmark = pytest.mark.django_db


def test_it_takes_the_oldest_due_first_up_to_the_limit_across_batches(now, make_due, settings):
    settings.TICK_BATCH_SIZE = 3
    minute = now.replace(second=0)
    # Ten due schedules, each one minute older than the next (all inside the catch-up window).
    made = [
        make_due(cron_expression="* * * * *", next_run_at=minute - timedelta(minutes=i))
        for i in range(10)
    ]
    report = report_json(run_tick(now=now, limit=7, use_executor_lock=False))

    oldest_seven = {str(s.id) for s in made[3:]}
    assert {t["scheduleId"] for t in report["triggeredSchedules"]} == oldest_seven
    assert Job.objects.count() == 7
    rest = report_json(run_tick(now=now, use_executor_lock=False))
    assert {t["scheduleId"] for t in rest["triggeredSchedules"]} == {str(s.id) for s in made[:3]}


def test_it_ignores_disabled_and_future_schedules(now, make_due):
    make_due(enabled=False)
    make_due(next_run_at=now + timedelta(minutes=1))
    report = report_json(run_tick(now=now, use_executor_lock=False))
    assert report == {
        "dryRun": False,
        "evaluatedAt": "2026-11-26T14:00:05Z",
        "triggeredSchedules": [],
        "skipped": [],
        "errors": [],
        "prewarmedAgents": [],
    }


def test_it_reports_one_broken_schedule_and_dispatches_the_others(now, make_due):
    from agents.models import Job
    from schedules.models import Schedule, ScheduleEvent

    good = [make_due() for _ in range(3)]
    broken = make_due()
    # Written around validation (a raw UPDATE): the tick must not let it stop the batch.
    Schedule.objects.filter(pk=broken.pk).update(cron_expression="61 * * * *")
    report = report_json(run_tick(now=now, use_executor_lock=False))

    assert {t["scheduleId"] for t in report["triggeredSchedules"]} == {str(s.id) for s in good}
    (error,) = report["errors"]
    assert (error["scheduleId"], error["code"]) == (str(broken.id), "internal_error")
    assert "minute" in error["message"]
    assert Job.objects.count() == 3
    assert ScheduleEvent.objects.get(schedule=broken).reason == "internal_error"
