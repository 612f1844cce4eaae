"""The metrics count agents online in SQL (agents.readiness.online_q): the filter picks exactly
the agents effective_status calls online, for every stored status and heartbeat age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.models import Agent, AgentStatus
from agents.readiness import AgentState, effective_status, online_q
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def test_it_agrees_with_effective_status(org):
    for status in AgentStatus:
        for beat_ago in (None, 0, 1, 59, 60, 61, 3600):
            AgentFactory(
                organization=org,
                status=status,
                last_heartbeat_at=None if beat_ago is None else NOW - timedelta(seconds=beat_ago),
                start_requested_at=NOW - timedelta(seconds=5),
            )
    agents = list(Agent.objects.all())
    online = {
        a.id
        for a in agents
        if effective_status(AgentState.from_agent(a), now=NOW, online_seconds=60)
        == AgentStatus.ONLINE
    }
    picked = set(
        Agent.objects.filter(online_q(now=NOW, online_seconds=60)).values_list("id", flat=True)
    )
    assert online and picked == online
