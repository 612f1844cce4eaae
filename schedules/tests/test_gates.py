"""The gates of SPEC §5 as pure functions: a passing and a blocking case each, and their order.
No database: the context is built by hand."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agents.models import AgentStatus, Controller
from agents.readiness import AgentState
from billing.gate import BillingState
from schedules.gates import (
    GATES,
    Candidate,
    GateContext,
    agent_gate,
    agent_needs_start,
    billing_gate,
    blocking_gates,
    concurrency_gate,
    first_blocking_gate,
    idempotency_gate,
    vault_gate,
)

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
ORG, AGENT, SCHEDULE = uuid4(), uuid4(), uuid4()


def make_agent(**kw: Any) -> AgentState:
    fields: dict[str, Any] = dict(
        id=AGENT,
        organization_id=ORG,
        name="bot-1",
        status=AgentStatus.ONLINE,
        last_heartbeat_at=NOW - timedelta(seconds=5),
        auto_start=True,
        controller=Controller.LOCAL,
        start_requested_at=None,
    )
    fields.update(kw)
    return AgentState(**fields)


def make_ctx(**kw: Any) -> GateContext:
    fields: dict[str, Any] = dict(
        now=NOW,
        billing={
            ORG: BillingState(
                organization_id=ORG,
                status="active",
                trial_ends_at=None,
                past_due_since=None,
                monthly_run_quota=None,
                runs_this_month=0,
            )
        },
        grace_days=7,
        active_jobs={},
        last_job_at={},
        vault_names={ORG: {"SAP_PASSWORD"}},
        agents={AGENT: make_agent()},
        online_seconds=60,
    )
    fields.update(kw)
    return GateContext(**fields)


def make_candidate(**kw: Any) -> Candidate:
    fields: dict[str, Any] = dict(
        schedule_id=SCHEDULE,
        organization_id=ORG,
        agent_id=AGENT,
        concurrency_limit=1,
        idempotency_window_minutes=0,
        vault_keys=("SAP_PASSWORD",),
        force=False,
    )
    fields.update(kw)
    return Candidate(**fields)


def billing(**kw: Any) -> dict[UUID, BillingState]:
    state: dict[str, Any] = dict(
        organization_id=ORG,
        status="active",
        trial_ends_at=None,
        past_due_since=None,
        monthly_run_quota=None,
        runs_this_month=0,
    )
    state.update(kw)
    return {ORG: BillingState(**state)}


def test_it_passes_every_gate_for_a_healthy_schedule():
    assert first_blocking_gate(make_candidate(), make_ctx()) is None


def test_it_runs_the_gates_in_the_order_of_the_spec():
    assert [g.__name__ for g in GATES] == [
        "billing_gate",
        "concurrency_gate",
        "idempotency_gate",
        "vault_gate",
        "agent_gate",
    ]


def test_it_reports_the_first_blocking_gate_when_several_block():
    ctx = make_ctx(
        billing=billing(status="suspended"),
        active_jobs={SCHEDULE: 5},
        vault_names={ORG: set()},
        agents={AGENT: make_agent(status=AgentStatus.DISABLED)},
    )
    assert first_blocking_gate(make_candidate(), ctx).reason == "billing_blocked"
    ctx.billing = billing()
    assert first_blocking_gate(make_candidate(), ctx).reason == "concurrency_limit"
    ctx.active_jobs = {}
    assert first_blocking_gate(make_candidate(), ctx).reason == "vault_keys_missing"
    ctx.vault_names = {ORG: {"SAP_PASSWORD"}}
    assert first_blocking_gate(make_candidate(), ctx).reason == "agent_unavailable"


def test_a_dry_run_lists_every_blocking_gate_in_order_and_the_first_is_the_ticks():
    ctx = make_ctx(
        billing=billing(status="suspended"),
        active_jobs={SCHEDULE: 5},
        vault_names={ORG: set()},
        agents={AGENT: make_agent(status=AgentStatus.DISABLED)},
    )
    skips = blocking_gates(make_candidate(), ctx)
    assert [s.reason for s in skips] == [
        "billing_blocked",
        "concurrency_limit",
        "vault_keys_missing",
        "agent_unavailable",
    ]
    assert skips[0] == first_blocking_gate(make_candidate(), ctx)
    assert blocking_gates(make_candidate(), make_ctx()) == []


def test_it_blocks_billing_with_the_reason():
    skip = billing_gate(make_candidate(), make_ctx(billing=billing(status="canceled")))
    assert skip.reason == "billing_blocked"
    assert "canceled" in skip.detail
    assert billing_gate(make_candidate(), make_ctx()) is None


@pytest.mark.parametrize(
    ("active", "limit", "blocked"),
    [(0, 1, False), (1, 1, True), (2, 3, False), (3, 3, True)],
)
def test_it_blocks_at_the_concurrency_limit(active, limit, blocked):
    ctx = make_ctx(active_jobs={SCHEDULE: active})
    skip = concurrency_gate(make_candidate(concurrency_limit=limit), ctx)
    assert (skip is not None) is blocked
    if blocked:
        assert skip.reason == "concurrency_limit"
        assert f"limit {limit}" in skip.detail


@pytest.mark.parametrize(
    ("window", "age_minutes", "force", "blocked"),
    [
        (0, 1, False, False),  # window off
        (30, 10, False, True),  # inside the window
        (30, 30, False, False),  # exactly at the edge: outside
        (30, 45, False, False),
        (30, 10, True, False),  # force bypasses the window
    ],
)
def test_it_applies_the_idempotency_window(window, age_minutes, force, blocked):
    ctx = make_ctx(last_job_at={SCHEDULE: NOW - timedelta(minutes=age_minutes)})
    c = make_candidate(idempotency_window_minutes=window, force=force)
    skip = idempotency_gate(c, ctx)
    assert (skip is not None) is blocked
    if blocked:
        assert skip.reason == "idempotency_window"


def test_it_names_the_missing_vault_keys():
    c = make_candidate(vault_keys=("SAP_PASSWORD", "SAP_USER", "TOTP_SEED"))
    skip = vault_gate(c, make_ctx())
    assert skip.reason == "vault_keys_missing"
    assert skip.detail == "missing: SAP_USER, TOTP_SEED"
    assert vault_gate(make_candidate(vault_keys=()), make_ctx(vault_names={})) is None


@pytest.mark.parametrize(
    ("agent", "blocked", "needs_start"),
    [
        (make_agent(), False, False),
        # heartbeat stale: offline; auto-start with a local controller starts it
        (make_agent(last_heartbeat_at=NOW - timedelta(minutes=5)), False, True),
        (make_agent(status=AgentStatus.STOPPED), False, True),
        (make_agent(status=AgentStatus.STOPPED, auto_start=False), True, False),
        (make_agent(status=AgentStatus.STOPPED, controller=Controller.MANUAL), True, False),
        (make_agent(status=AgentStatus.DISABLED), True, False),
        (
            make_agent(
                status=AgentStatus.STARTING,
                last_heartbeat_at=None,
                start_requested_at=NOW - timedelta(seconds=30),
            ),
            False,
            False,
        ),
    ],
    ids=["online", "stale", "stopped", "no-autostart", "manual", "disabled", "starting"],
)
def test_it_checks_agent_readiness(agent, blocked, needs_start):
    ctx = make_ctx(agents={AGENT: agent})
    skip = agent_gate(make_candidate(), ctx)
    assert (skip is not None) is blocked
    if blocked:
        assert skip.reason == "agent_unavailable"
        assert "bot-1" in skip.detail
    else:
        assert agent_needs_start(make_candidate(), ctx) is needs_start


def test_it_never_lets_force_bypass_billing_concurrency_vault_or_agent():
    forced = make_candidate(force=True, idempotency_window_minutes=60)
    assert billing_gate(forced, make_ctx(billing=billing(status="suspended"))) is not None
    assert concurrency_gate(forced, make_ctx(active_jobs={SCHEDULE: 1})) is not None
    assert vault_gate(forced, make_ctx(vault_names={ORG: set()})) is not None
    stopped = make_agent(status=AgentStatus.STOPPED, auto_start=False)
    assert agent_gate(forced, make_ctx(agents={AGENT: stopped})) is not None
    assert idempotency_gate(forced, make_ctx(last_job_at={SCHEDULE: NOW})) is None
