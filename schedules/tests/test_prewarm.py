"""Which agents the tick pre-warms (SPEC §14): pure, no database — the lead's boundaries, off,
agents already up or on their way, disabled ones and those nobody can auto-start."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agents.models import AgentStatus, Controller
from agents.readiness import START_GRACE, AgentState
from billing.gate import BillingState
from schedules.prewarm import PrewarmCandidate, agents_to_prewarm, should_prewarm

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
ONLINE_SECONDS = 60


def candidate(
    *,
    lead: int = 5,
    fires_in: timedelta = timedelta(minutes=3),
    status: str = AgentStatus.OFFLINE,
    beat_ago: timedelta | None = None,
    start_ago: timedelta | None = None,
    auto_start: bool = True,
    controller: str = Controller.LOCAL,
    billing_status: str = "active",
) -> PrewarmCandidate:
    org = uuid.uuid4()
    agent = AgentState(
        id=uuid.uuid4(),
        organization_id=org,
        name="bot",
        status=status,
        last_heartbeat_at=None if beat_ago is None else NOW - beat_ago,
        auto_start=auto_start,
        controller=controller,
        start_requested_at=None if start_ago is None else NOW - start_ago,
    )
    billing = BillingState(
        organization_id=org,
        status=billing_status,
        trial_ends_at=None,
        past_due_since=None,
        monthly_run_quota=None,
        runs_this_month=0,
    )
    return PrewarmCandidate(
        agent=agent, prewarm_minutes=lead, next_fire_at=NOW + fires_in, billing=billing
    )


def prewarms(c: PrewarmCandidate) -> bool:
    return should_prewarm(c, now=NOW, online_seconds=ONLINE_SECONDS)


@pytest.mark.parametrize(
    ("fires_in", "expected"),
    [
        (timedelta(0), True),  # the lead starts now
        (timedelta(minutes=3), True),
        (timedelta(minutes=5), True),  # the lead's last instant
        (timedelta(minutes=5, seconds=1), False),  # not yet: a later tick will
        (timedelta(seconds=-1), False),  # already due: the due walk starts it with its job
    ],
)
def test_it_prewarms_inside_the_lead_and_not_outside(fires_in, expected):
    assert prewarms(candidate(lead=5, fires_in=fires_in)) is expected


def test_a_lead_of_zero_is_off():
    assert not prewarms(candidate(lead=0, fires_in=timedelta(0)))


def test_a_stopped_agent_is_prewarmed_like_an_offline_one():
    assert prewarms(candidate(status=AgentStatus.STOPPED))


def test_an_agent_online_or_already_starting_is_left_alone():
    assert not prewarms(candidate(status=AgentStatus.ONLINE, beat_ago=timedelta(seconds=5)))
    assert not prewarms(candidate(status=AgentStatus.STARTING, start_ago=timedelta(seconds=30)))
    # A start that never came up within its grace is stale: the agent is offline again.
    stale = START_GRACE + timedelta(seconds=1)
    assert prewarms(candidate(status=AgentStatus.STARTING, start_ago=stale))


def test_a_disabled_agent_or_one_nobody_can_auto_start_is_not_prewarmed():
    assert not prewarms(candidate(status=AgentStatus.DISABLED))
    assert not prewarms(candidate(controller=Controller.MANUAL))
    assert not prewarms(candidate(auto_start=False))
    assert prewarms(candidate(controller=Controller.WEBHOOK))


def test_it_lists_the_agents_to_start_soonest_run_first():
    later = candidate(fires_in=timedelta(minutes=4))
    sooner = candidate(fires_in=timedelta(minutes=1))
    online = candidate(status=AgentStatus.ONLINE, beat_ago=timedelta(seconds=5))
    chosen = agents_to_prewarm([later, online, sooner], now=NOW, online_seconds=ONLINE_SECONDS)
    assert chosen == [sooner.agent.id, later.agent.id]


def test_an_organization_the_billing_gate_blocks_gets_no_prewarm():
    # Its runs will not be dispatched: booting its agent would cost money for nothing.
    assert prewarms(candidate())
    assert not prewarms(candidate(billing_status="suspended"))
