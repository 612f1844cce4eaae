"""Fixtures for real-process tests: committed rows (transactional tests) and agent processes
that are always stopped before the database is flushed."""

from __future__ import annotations

import pytest

from tests.process.helpers import AgentProcess, agent_env


@pytest.fixture
def start_agent(transactional_db, redis_url, tmp_path):
    """start_agent(agent, **env) -> AgentProcess, online and consuming its queue."""
    started: list[AgentProcess] = []

    def start(agent, wait: bool = True, **env) -> AgentProcess:
        process = AgentProcess(agent, tmp_path / f"agent-{len(started)}.log", agent_env(**env))
        started.append(process)
        if wait:
            process.wait_online()
        return process

    yield start
    for process in started:
        process.stop()
