"""An offline agent with the `local` controller is started by agent_start (a detached
`runagent`) and runs the job queued for it meanwhile; agent_stop stops it cleanly."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.controllers import agent_start, agent_stop
from agents.dispatch import jobs_publish
from agents.models import Agent, AgentStatus, Controller, JobStatus
from tests.process.helpers import (
    agent_env,
    make_agent,
    make_job,
    make_org,
    pid_alive,
    wait_for,
    wait_for_status,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_it_starts_an_offline_local_agent_that_then_runs_the_job(
    transactional_db, redis_url, settings, monkeypatch, tmp_path
):
    # The spawned agent inherits this environment: point it at the test database.
    for key, value in agent_env().items():
        monkeypatch.setenv(key, value)
    settings.AGENT_LOG_DIR = str(tmp_path)
    agent = make_agent(make_org(), controller=Controller.LOCAL, auto_start=True)
    assert agent.status == AgentStatus.OFFLINE
    job = make_job(agent, "print('hello from a started agent')")

    now = timezone.now()
    agent_start(agent=agent, now=now)  # the engine's order: start, then publish
    jobs_publish(jobs=[(job.id, agent.id)], now=now)
    agent.refresh_from_db()
    assert agent.status == AgentStatus.STARTING and agent.start_requested_at == now
    spawned_pid = agent.pid
    assert spawned_pid and pid_alive(spawned_pid)
    agent_start(agent=Agent.objects.get(id=agent.id), now=timezone.now())  # already starting
    assert Agent.objects.get(id=agent.id).pid == spawned_pid

    try:
        job = wait_for_status(job, JobStatus.SUCCEEDED, timeout=30)
        assert "hello from a started agent" in job.log
        agent.refresh_from_db()
        assert agent.status == AgentStatus.ONLINE and agent.pid == spawned_pid
        log_files = list(tmp_path.glob(f"agent-{agent.slug}-*.log"))
        assert log_files and "ready." in log_files[0].read_text()

        agent_stop(agent=agent, now=timezone.now())
        wait_for(lambda: not pid_alive(spawned_pid), timeout=15, what="the agent to exit")
        agent.refresh_from_db()
        assert agent.status == AgentStatus.STOPPED and agent.pid is None
    finally:
        if pid_alive(spawned_pid):
            import os
            import signal

            os.kill(spawned_pid, signal.SIGKILL)
