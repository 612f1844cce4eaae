"""Pre-warm with a real agent (SPEC §14): an offline agent with the `local` controller and
prewarmMinutes 5, whose schedule's next run is 3 minutes ahead, is started by a tick at `now` —
a real agent runtime that comes online (heartbeats) while its run is still ahead; with
prewarmMinutes 2 the same tick starts nothing."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent, AgentStatus, Controller
from schedules.engine import run_tick
from schedules.models import Schedule
from tests.process.helpers import (
    make_agent,
    make_org,
    make_script,
    pid_alive,
    runtime_pids,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def agent_with_a_run_ahead(prewarm_minutes: int, run_at) -> Agent:
    agent = make_agent(
        make_org(), controller=Controller.LOCAL, auto_start=True, prewarm_minutes=prewarm_minutes
    )
    Schedule.objects.create(
        organization=agent.organization,
        name="Morning report",
        script=make_script(agent.organization, "print('report')"),
        agent=agent,
        cron_expression=f"{run_at.minute} {run_at.hour} * * *",
        next_run_at=run_at,
    )
    return agent


def test_a_tick_prewarms_a_real_local_agent_before_its_run(control_plane, settings, tmp_path):
    settings.AGENT_LOCAL_CONTROLLER = True
    settings.AGENT_LOG_DIR = str(tmp_path)
    now = timezone.now().replace(microsecond=0)
    run_at = now + timedelta(minutes=3)
    agent = agent_with_a_run_ahead(5, run_at)
    assert agent.status == AgentStatus.OFFLINE

    report = run_tick(now=now)  # a full tick: it holds the executor lease

    assert [p.agent_id for p in report.prewarmed] == [agent.id]
    assert report.triggered == [] and report.errors == []
    pids: list[int] = []
    try:
        wait_for(
            lambda: Agent.objects.get(id=agent.id).last_heartbeat_at is not None,
            timeout=30,
            what="the pre-warmed runtime's first heartbeat",
        )
        agent.refresh_from_db()
        assert agent.status == AgentStatus.ONLINE
        assert agent.last_heartbeat_at < run_at  # up before its run is due
        pids = runtime_pids(agent.id)
        assert len(pids) == 1, pids
        schedule = Schedule.objects.get(agent=agent)
        assert (schedule.next_run_at, schedule.last_run_at) == (run_at, None)  # not run early
    finally:
        for pid in pids or runtime_pids(agent.id):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_run_beyond_the_lead_starts_nothing(control_plane, settings, tmp_path):
    settings.AGENT_LOCAL_CONTROLLER = True
    settings.AGENT_LOG_DIR = str(tmp_path)
    now = timezone.now().replace(microsecond=0)
    agent = agent_with_a_run_ahead(2, now + timedelta(minutes=3))

    report = run_tick(now=now)

    assert report.prewarmed == [] and report.errors == []
    assert Agent.objects.get(id=agent.id).status == AgentStatus.OFFLINE
    assert runtime_pids(agent.id) == []
    assert list(tmp_path.iterdir()) == []  # no runtime was spawned, so no runtime log either
