"""Through the tick (schedules.engine.run_tick): a due schedule's run is dispatched to a real
agent process, runs with its variables and a vault secret, and the schedule's lastRunStatus
follows the job. An offline `local` agent with auto-start is started by the tick and runs it."""

from __future__ import annotations

import os
import signal

import pytest
from django.utils import timezone

from agents.models import Agent, AgentStatus, Controller, JobStatus
from schedules.engine import run_tick
from schedules.models import Schedule
from tests.process.helpers import (
    make_agent,
    make_org,
    make_script,
    pid_alive,
    runtime_pids,
    wait_for,
    wait_for_status,
)
from vault.services import vault_set

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCRIPT = """
import json, sys
payload = json.load(sys.stdin)
print("region", payload["variables"]["region"], "token", payload["secrets"]["API_TOKEN"])
"""


def due_schedule(agent: Agent, now, **fields) -> Schedule:
    return Schedule.objects.create(
        organization=agent.organization,
        name="Nightly sync",
        script=make_script(agent.organization, SCRIPT),
        agent=agent,
        cron_expression="* * * * *",
        next_run_at=now.replace(second=0, microsecond=0),
        variables={"region": "eu-west"},
        vault_keys=["API_TOKEN"],
        **fields,
    )


def tick(now):
    return run_tick(
        now=now,
        dry_run=False,
        force=False,
        schedule_id=None,
        limit=1000,
        organization_id=None,
        use_executor_lock=False,
    )


def test_it_runs_a_scheduled_job_end_to_end_through_the_tick(start_agent):
    org = make_org()
    agent = make_agent(org)
    vault_set(organization=org, key="API_TOKEN", value="tok-9f8e7d6c5b")
    start_agent(agent)
    now = timezone.now()
    schedule = due_schedule(agent, now)

    report = tick(now)
    assert not report.errors and not report.skipped, report
    [triggered] = report.triggered
    job = wait_for_status(schedule.jobs.get(id=triggered.job_id), JobStatus.SUCCEEDED, timeout=20)

    assert "region eu-west token [REDACTED:API_TOKEN]" in job.log
    assert "tok-9f8e7d6c5b" not in job.log
    schedule.refresh_from_db()
    assert schedule.last_run_status == JobStatus.SUCCEEDED


def test_it_auto_starts_an_offline_local_agent_from_the_tick(control_plane, settings, tmp_path):
    settings.AGENT_LOCAL_CONTROLLER = True
    settings.AGENT_LOG_DIR = str(tmp_path)
    org = make_org()
    agent = make_agent(org, controller=Controller.LOCAL, auto_start=True)
    vault_set(organization=org, key="API_TOKEN", value="tok-1234567890")
    now = timezone.now()
    schedule = due_schedule(agent, now)

    report = tick(now)
    assert not report.errors, report
    [triggered] = report.triggered
    assert "agent_auto_started" in triggered.notes
    agent.refresh_from_db()
    assert agent.status == AgentStatus.STARTING
    try:
        job = wait_for_status(
            schedule.jobs.get(id=triggered.job_id), JobStatus.SUCCEEDED, timeout=30
        )
        assert "[REDACTED:API_TOKEN]" in job.log
        wait_for(
            lambda: Schedule.objects.get(id=schedule.id).last_run_status == JobStatus.SUCCEEDED,
            timeout=5,
        )
        assert len(runtime_pids(agent.id)) == 1
    finally:
        for pid in runtime_pids(agent.id):
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda pid=pid: not pid_alive(pid), timeout=15, what="the runtime to exit")
