"""An offline agent with the `local` controller is started by agent_start: a detached agent
runtime holding only the agent's own MIMIC_* variables and a fresh token, which runs the job
queued for it meanwhile; agent_stop stops it through its heartbeat answer."""

from __future__ import annotations

import os
import signal

import pytest
from django.utils import timezone

from agents.controllers import agent_start, agent_stop
from agents.dispatch import jobs_publish
from agents.models import Agent, AgentStatus, Controller, JobStatus
from agents.runtime.environment import ALLOWED
from tests.process.helpers import (
    PLATFORM_SECRETS,
    make_agent,
    make_job,
    make_org,
    pid_alive,
    process_environ,
    runtime_pids,
    wait_for,
    wait_for_status,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_it_starts_an_offline_local_agent_that_then_runs_the_job(
    control_plane, settings, tmp_path
) -> None:
    settings.AGENT_LOCAL_CONTROLLER = True
    settings.AGENT_LOG_DIR = str(tmp_path)
    agent = make_agent(make_org(), controller=Controller.LOCAL, auto_start=True)
    assert agent.status == AgentStatus.OFFLINE
    job = make_job(agent, "print('hello from a started agent')")

    now = timezone.now()
    agent_start(agent=agent, now=now)  # the engine's order: start, then publish
    jobs_publish(jobs=[(job.id, agent.id)], now=now)
    agent.refresh_from_db()
    assert agent.status == AgentStatus.STARTING and agent.start_requested_at == now
    issued = agent.token_hash
    agent_start(agent=Agent.objects.get(id=agent.id), now=timezone.now())  # already starting
    assert Agent.objects.get(id=agent.id).token_hash == issued  # no second runtime, no new token

    pids: list[int] = []
    try:
        job = wait_for_status(job, JobStatus.SUCCEEDED, timeout=30)
        assert "hello from a started agent" in job.log
        pids = runtime_pids(agent.id)
        assert len(pids) == 1, pids
        environ = process_environ(pids[0])
        assert set(environ) <= ALLOWED, sorted(set(environ) - ALLOWED)
        assert not set(environ) & set(PLATFORM_SECRETS)
        assert environ["MIMIC_AGENT_ID"] == str(agent.id)
        agent.refresh_from_db()
        assert agent.status == AgentStatus.ONLINE
        log_files = list(tmp_path.glob(f"agent-{agent.slug}-*.log"))
        assert log_files and "ready." in log_files[0].read_text()

        agent_stop(agent=agent, now=timezone.now())
        wait_for(lambda: not pid_alive(pids[0]), timeout=15, what="the runtime to exit")
        agent.refresh_from_db()
        assert agent.status == AgentStatus.STOPPED and agent.stop_requested_at is None
    finally:
        for pid in pids or runtime_pids(agent.id):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
