"""agent_start refuses a `local` agent where AGENT_LOCAL_CONTROLLER is off (SPEC §7): nothing is
spawned, no token is issued, the agent stays as it was, and the message names the setting."""

from __future__ import annotations

import subprocess

import pytest
from django.utils import timezone

from agents.controllers import AgentStartFailed, agent_start
from agents.models import AgentStatus, Controller
from tests.factories import AgentFactory


def test_it_refuses_to_start_a_local_agent_when_the_setting_is_off(db, settings, monkeypatch):
    settings.AGENT_LOCAL_CONTROLLER = False
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **kw: pytest.fail("spawned"))
    agent = AgentFactory(controller=Controller.LOCAL, auto_start=True, token_hash="before")

    with pytest.raises(AgentStartFailed) as failure:
        agent_start(agent=agent, now=timezone.now())

    assert failure.value.code == "not_startable"
    assert "AGENT_LOCAL_CONTROLLER" in str(failure.value)
    agent.refresh_from_db()
    assert agent.status == AgentStatus.OFFLINE and agent.start_requested_at is None
    assert agent.token_hash == "before"
