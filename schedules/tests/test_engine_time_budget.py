"""The tick's time budget bounds the whole tick, after-commit work included: no batch and no
agent start begins that would end past it (judged by the longest of its kind so far), helper
evaluators end with the tick's budget, and the web server lets a tick run that long.

Time is a fake clock (elapsed seconds) given to run_tick; slow steps advance it."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings

from agents import controllers
from agents.models import AgentStatus, Controller, Job, JobStatus
from schedules import engine
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import Schedule
from schedules.tasks import evaluate_due_schedules_helper
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def test_it_starts_no_batch_that_would_end_past_the_budget(now, make_due, settings, monkeypatch):
    settings.TICK_BATCH_SIZE = 1
    settings.TICK_TIME_BUDGET_SECONDS = 100
    clock = FakeClock()
    batch = engine._process_batch

    def slow_batch(ids, **kw):
        clock.seconds += 40  # each batch takes 40 s
        return batch(ids, **kw)

    monkeypatch.setattr(engine, "_process_batch", slow_batch)
    for _ in range(5):
        make_due()
    report = report_json(run_tick(now=now, use_executor_lock=True, clock=clock))

    # Batches at 0 s and 40 s; a third would have ended at 120 s, past the 100 s budget.
    assert len(report["triggeredSchedules"]) == 2
    assert report["errors"] == []
    assert clock.seconds == 80
    assert Job.objects.count() == 2
    assert Schedule.objects.filter(next_run_at__lte=now).count() == 3  # due at the next tick


def test_it_starts_no_agent_once_the_budget_is_spent(now, make_due, org, settings, monkeypatch):
    settings.TICK_TIME_BUDGET_SECONDS = 10
    clock = FakeClock()
    started = []

    def slow_start(*, agent, now):
        clock.seconds += 8  # a webhook that answers slowly
        started.append(agent.id)

    monkeypatch.setattr(controllers, "agent_start", slow_start)
    offline = [
        AgentFactory(
            organization=org,
            status=AgentStatus.OFFLINE,
            auto_start=True,
            controller=Controller.WEBHOOK,
            controller_config={"url": "https://agents.example.com/start", "secret": "s"},
        )
        for _ in range(2)
    ]
    first, second = (make_due(agent=a) for a in offline)
    report = report_json(run_tick(now=now, use_executor_lock=True, clock=clock))

    # The first start took 8 s; another as long would end at 16 s, past the 10 s budget.
    # (Both are due at the same instant: which goes first is the batch's order, by id.)
    (agent_id,) = started
    ran, other = (first, second) if agent_id == offline[0].id else (second, first)
    assert [t["scheduleId"] for t in report["triggeredSchedules"]] == [str(ran.id)]
    (error,) = report["errors"]
    assert (error["scheduleId"], error["code"]) == (str(other.id), "agent_start_failed")
    assert "time budget" in error["message"]
    # Its job is not left waiting for an agent nobody starts: failed now, slot freed.
    job = Job.objects.get(schedule=other)
    assert job.status == JobStatus.FAILED
    assert "time budget" in job.error_message


def test_a_helper_evaluator_ends_with_the_ticks_budget(now, make_due, settings, monkeypatch):
    settings.TICK_TIME_BUDGET_SECONDS = 40
    s = make_due()
    # The budget is counted on the control plane's clock (the database's), not this host's.
    clock = {"now": now + timedelta(seconds=45)}
    monkeypatch.setattr("config.clock.control_plane_now", lambda: clock["now"])
    # Picked up 45 s after the tick's instant: the tick's budget is spent, nothing to do.
    with time_machine.travel(now, tick=False):  # this host's clock says no time has passed
        evaluate_due_schedules_helper(now.isoformat())
    assert not Job.objects.exists()
    # Picked up at once: it evaluates.
    clock["now"] = now + timedelta(seconds=1)
    with time_machine.travel(
        now + timedelta(minutes=10), tick=False
    ):  # however this host's clock runs
        evaluate_due_schedules_helper(now.isoformat())
    assert Job.objects.filter(schedule=s).count() == 1


def test_the_web_server_timeout_is_above_the_tick_budget():
    # The cron endpoint runs a whole tick inside a request: a worker timeout below the budget
    # would kill it mid-tick (gunicorn's default is 30 s).
    lines = (ROOT / "Procfile").read_text().splitlines()
    (web,) = [line for line in lines if line.startswith("web:")]
    assert "gunicorn" in web
    timeout = re.search(r"--timeout[ =](\d+)", web)
    assert timeout, "the web line sets no --timeout (gunicorn's default is 30 s)"
    assert int(timeout.group(1)) > django_settings.TICK_TIME_BUDGET_SECONDS
    assert int(timeout.group(1)) > django_settings.EXECUTOR_LEASE_SECONDS
