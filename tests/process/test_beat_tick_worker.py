"""The beat tick in a real Celery worker process: a busy minute is split between the tick and its
helper evaluator (TICK_EVALUATORS=2, two worker processes), and every due occurrence is still
dispatched exactly once."""

import os
import signal
import subprocess
import sys

import pytest
from django.utils import timezone

from agents.dispatch import agent_queue
from agents.models import Job, JobStatus
from schedules.models import Schedule
from schedules.tasks import evaluate_due_schedules
from tests.factories import AgentFactory, OrganizationFactory, ScheduleFactory, ScriptFactory
from tests.process.helpers import ROOT, control_plane_env, log_events, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DUE = 400


@pytest.fixture
def worker(tmp_path, redis_url):
    log_path = tmp_path / "worker.log"
    env = control_plane_env(TICK_EVALUATORS="2", TICK_BATCH_SIZE="50")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "celery",
                "-c",
                "2",
                "--pool",
                "prefork",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield process, log_path
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


def test_it_splits_a_busy_tick_between_worker_processes(worker, redis_client):
    process, log_path = worker
    now = timezone.now()
    org = OrganizationFactory(billing_status="active")
    # Online for the next few minutes, whatever the tick's own clock says.
    agent = AgentFactory(
        organization=org, status="online", last_heartbeat_at=now + timezone.timedelta(minutes=5)
    )
    script = ScriptFactory(organization=org)
    minute = now.replace(second=0, microsecond=0)
    ScheduleFactory.create_batch(
        DUE,
        organization=org,
        agent=agent,
        script=script,
        cron_expression="* * * * *",
        next_run_at=minute,
    )
    evaluate_due_schedules.delay()

    wait_for(
        lambda: Job.objects.filter(status=JobStatus.QUEUED).count() == DUE,
        timeout=60,
        what="all queued",
    )
    jobs = list(Job.objects.values_list("schedule_id", flat=True))
    assert len(jobs) == len(set(jobs)) == DUE
    assert not Schedule.objects.filter(next_run_at__lte=minute).exists()
    assert redis_client.llen(agent_queue(agent.id)) == DUE
    output = wait_for(
        lambda: log_events(log_path.read_text(), "tick_helper") and log_path.read_text(),
        timeout=30,
    )
    # The two evaluators' own reports add up to the due count: nothing twice, nothing lost.
    reports = log_events(output, "tick") + log_events(output, "tick_helper")
    triggered = [report["triggered"] for report in reports]
    assert len(triggered) == 2 and sum(triggered) == DUE, triggered
    assert process.poll() is None
    redis_client.delete(agent_queue(agent.id))
