"""Fixtures for real-process tests: committed rows (transactional tests), the control plane
served by the test's live server, and agent runtimes that are always stopped before the
database is flushed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.process.helpers import FAST_CONTROL_PLANE, AgentProcess, runtime_env


@pytest.fixture
def control_plane(transactional_db, live_server, redis_url, settings):
    """The test process is the control plane: the agent API on the live server, short
    intervals. Returns the live server's URL."""
    for name, value in FAST_CONTROL_PLANE.items():
        setattr(settings, name, value)
    settings.AGENT_CONTROL_PLANE_URL = live_server.url
    return live_server.url


@pytest.fixture
def drop_dir():
    """A folder a script can write to whatever OS user it runs as (sticky, world-writable, in
    the system temp folder rather than under pytest's root-only tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="mimic-drop-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_agent(control_plane, tmp_path) -> Iterator[Callable[..., AgentProcess]]:
    """start_agent(agent, wait=True, user=None, env=None, python=None, **env_extra) ->
    AgentProcess, consuming its queue (`env` replaces the whole environment)."""
    started: list[AgentProcess] = []

    def start(agent, wait: bool = True, user=None, env=None, python=None, **extra) -> AgentProcess:
        process = AgentProcess(
            agent,
            tmp_path / f"agent-{len(started)}.log",
            env if env is not None else runtime_env(agent, **extra),
            user=user,
            python=python,
        )
        started.append(process)
        if wait:
            process.wait_online()
        return process

    yield start
    for process in started:
        process.stop()
        # Shown by pytest only when the test failed.
        print(f"--- agent runtime output ({process.log_path.name}) ---\n{process.output()}")
