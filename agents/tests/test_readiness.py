"""Readiness is the heartbeat's age, not the stored status (a kill -9 never writes offline)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from agents.models import AgentStatus, Controller
from agents.readiness import START_GRACE, AgentState, effective_status

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def state(status=AgentStatus.ONLINE, beat_ago=None, start_ago=None, **kw) -> AgentState:
    return AgentState(
        id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        name="bot",
        status=status,
        last_heartbeat_at=None if beat_ago is None else NOW - timedelta(seconds=beat_ago),
        auto_start=kw.get("auto_start", True),
        controller=kw.get("controller", Controller.LOCAL),
        start_requested_at=None if start_ago is None else NOW - timedelta(seconds=start_ago),
    )


def status_of(s: AgentState) -> str:
    return effective_status(s, now=NOW, online_seconds=60)


def test_it_is_online_with_a_fresh_heartbeat():
    assert status_of(state(beat_ago=10)) == AgentStatus.ONLINE
    assert status_of(state(AgentStatus.STARTING, beat_ago=1, start_ago=5)) == AgentStatus.ONLINE


def test_it_is_offline_when_the_heartbeat_is_stale_whatever_the_row_says():
    assert status_of(state(beat_ago=60)) == AgentStatus.OFFLINE
    assert status_of(state(beat_ago=None)) == AgentStatus.OFFLINE


def test_it_is_stopped_after_a_clean_shutdown():
    assert status_of(state(AgentStatus.STOPPED, beat_ago=5)) == AgentStatus.STOPPED


def test_it_is_starting_only_within_the_start_grace():
    grace = START_GRACE.total_seconds()
    assert status_of(state(AgentStatus.STARTING, start_ago=grace - 1)) == AgentStatus.STARTING
    assert status_of(state(AgentStatus.STARTING, start_ago=grace + 1)) == AgentStatus.OFFLINE


def test_it_is_disabled_regardless_of_heartbeat():
    assert status_of(state(AgentStatus.DISABLED, beat_ago=1)) == AgentStatus.DISABLED


def test_it_cannot_auto_start_a_manual_agent():
    assert not state(controller=Controller.MANUAL).can_auto_start
    assert not state(auto_start=False).can_auto_start
    assert state(controller=Controller.WEBHOOK).can_auto_start
