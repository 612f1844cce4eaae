"""Selection: due rows oldest first, up to `limit`, in batches; the rest waits for the next tick."""

from datetime import timedelta

import pytest

from agents.models import Job
from schedules import engine
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import Schedule

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


def test_a_batch_that_fails_writes_nothing_reports_its_schedules_and_the_others_go_on(
    now, make_due, settings, monkeypatch
):
    settings.TICK_BATCH_SIZE = 2
    made = [make_due() for _ in range(4)]
    real, calls = engine._apply, []

    def failing_first(decisions, **kw):
        calls.append([d.schedule.id for d in decisions])
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return real(decisions, **kw)

    monkeypatch.setattr(engine, "_apply", failing_first)
    report = report_json(run_tick(now=now, use_executor_lock=False))

    failed = set(calls[0])
    assert {e["scheduleId"] for e in report["errors"]} == {str(pk) for pk in failed}
    assert {e["code"] for e in report["errors"]} == {"internal_error"}
    assert "nothing was written" in report["errors"][0]["message"]
    others = {s.id for s in made} - failed
    assert {t["scheduleId"] for t in report["triggeredSchedules"]} == {str(pk) for pk in others}
    assert set(Job.objects.values_list("schedule_id", flat=True)) == others
    # Rolled back: still due, at the next tick.
    assert Schedule.objects.filter(id__in=failed, next_run_at__lte=now).count() == 2


def test_a_claim_that_fails_is_reported_without_a_schedule(now, make_due, monkeypatch):
    make_due()

    def broken(**kw):
        raise RuntimeError("connection reset")

    monkeypatch.setattr(engine, "schedule_due_claim", broken)
    report = report_json(run_tick(now=now, use_executor_lock=False))

    # Once: the walk stops there (it cannot move its cursor), rather than trying again.
    (error,) = report["errors"]
    assert (error["scheduleId"], error["code"]) == (None, "internal_error")
    assert not Job.objects.exists()


def test_a_claimed_batch_shares_one_id_object_per_organization_script_and_agent(now, make_due):
    """The gates look a row's organization, script and agent up in the batch context a dozen
    times: equal ids are made one object, so a lookup finds its key by identity. The values
    and each schedule's attached agent are unchanged."""
    made = [make_due() for _ in range(3)]
    pages = engine._DuePages(
        now=now,
        limit=None,
        organization_id=None,
        report=engine.Report(dry_run=True, evaluated_at=now),
        budget=engine._Budget(lambda: 0.0, 40),
        lease=None,
        dry_run=True,
    )
    rows = pages.claim()
    assert {s.id for s in rows} == {s.id for s in made}
    for name in ("organization_id", "script_id", "agent_id"):
        first = getattr(rows[0], name)
        assert first == getattr(made[0], name)
        assert all(getattr(s, name) is first for s in rows), name
    assert all(s.agent.id == s.agent_id for s in rows)
    # Loaded apart, equal ids are distinct objects: the sharing is the claim's doing.
    apart = list(Schedule.objects.filter(id__in=[s.id for s in made]))
    assert apart[0].agent_id is not apart[1].agent_id
