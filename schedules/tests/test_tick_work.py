"""A tick under the lease first asks which of its steps have anything to do (selectors.tick_work,
one statement); an idle tick then runs none of their queries and starts no helper evaluator."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import JobStatus
from schedules.engine import run_tick
from schedules.selectors import TickWork, tick_work
from tests.factories import AgentFactory, JobFactory

pytestmark = pytest.mark.django_db

NOTHING = TickWork(republish=False, release=False, due=False, prewarm=False)


def test_an_empty_database_has_nothing_for_any_step(now):
    assert tick_work(now=now) == NOTHING


def test_a_schedule_due_later_is_not_due_work(now, make_due):
    make_due(next_run_at=now + timedelta(minutes=1))
    assert tick_work(now=now) == NOTHING
    assert tick_work(now=now + timedelta(minutes=1)).due


def test_a_disabled_due_schedule_is_not_due_work(now, make_due):
    make_due(enabled=False)
    assert not tick_work(now=now).due


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (JobStatus.PENDING, "republish"),
        (JobStatus.RETRYING, "republish"),
        (JobStatus.HELD, "release"),
    ],
)
def test_each_job_status_a_step_serves_is_work_for_it(now, make_due, status, step):
    schedule = make_due(next_run_at=now + timedelta(hours=1))
    JobFactory(schedule=schedule, status=status)
    assert tick_work(now=now) == TickWork(**{**vars(NOTHING), step: True})


def test_queued_and_finished_jobs_are_no_work(now, make_due):
    schedule = make_due(next_run_at=now + timedelta(hours=1))
    for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED):
        JobFactory(schedule=schedule, status=status)
    assert tick_work(now=now) == NOTHING


def test_an_agent_with_prewarm_on_is_prewarm_work(now, org):
    AgentFactory(organization=org, prewarm_minutes=0)
    assert not tick_work(now=now).prewarm
    AgentFactory(organization=org, prewarm_minutes=5)
    assert tick_work(now=now).prewarm


def test_an_idle_tick_runs_only_the_lease_the_question_and_its_heartbeat(now, make_due):
    make_due(next_run_at=now + timedelta(hours=1))
    helpers = []
    with CaptureQueriesContext(connection) as idle:
        report = run_tick(
            now=now, use_executor_lock=True, on_lease_acquired=lambda: helpers.append(1)
        )
    assert not report.triggered and not report.errors
    assert helpers == []  # no helper evaluator for an idle minute
    control = {"BEGIN", "SET", "COMMIT", "SAVEPOINT", "RELEASE"}
    statements = [q["sql"] for q in idle.captured_queries if q["sql"].split()[0] not in control]
    # The lease, the one question, the heartbeat and the lease's release.
    assert [sql.split()[0] for sql in statements] == ["INSERT", "SELECT", "INSERT", "DELETE"]
    assert "executorlease" in statements[0] and "tickheartbeat" in statements[2]
    assert statements[1].count("EXISTS") == 4


def test_a_tick_with_due_work_starts_its_helpers(now, make_due):
    make_due()
    helpers = []
    report = run_tick(now=now, use_executor_lock=True, on_lease_acquired=lambda: helpers.append(1))
    assert len(report.triggered) == 1 and helpers == [1]
