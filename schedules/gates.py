"""The gates of the tick (SPEC §5), in order. Each is a small pure function:
(candidate, context) -> Skip | None. They never query, never write, never read the clock:
the engine builds one GateContext per batch with batched queries and passes `now` in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

from agents.models import AgentStatus
from agents.readiness import AgentState, effective_status
from billing.gate import BillingState, billing_block_reason
from config.clock import iso_z
from schedules.calendars import DateEntry
from schedules.models import Schedule, SkipReason


@dataclass(frozen=True)
class Skip:
    reason: str
    detail: str = ""


class Candidate(NamedTuple):
    """What the gates need to know about one schedule occurrence. A named tuple, not a frozen
    dataclass: as immutable, and built several times faster (one per due row of a tick)."""

    schedule_id: UUID
    organization_id: UUID
    agent_id: UUID
    concurrency_limit: int
    idempotency_window_minutes: int
    vault_keys: tuple[str, ...]
    force: bool = False

    @classmethod
    def of(cls, s: Schedule, *, force: bool) -> Candidate:
        """A schedule's occurrence as the gates see it (the tick's, a backfill's)."""
        return cls(
            s.id,
            s.organization_id,
            s.agent_id,
            s.concurrency_limit,
            s.idempotency_window_minutes,
            tuple(s.vault_keys),
            force,
        )


@dataclass
class GateContext:
    now: datetime
    billing: dict[UUID, BillingState]
    grace_days: int
    active_jobs: dict[UUID, int]  # schedule id -> jobs pending/queued/running/retrying
    last_job_at: dict[UUID, datetime]  # schedule id -> newest job's created_at (within windows)
    vault_names: dict[UUID, set[str]]  # organization id -> existing key names
    agents: dict[UUID, AgentState]
    online_seconds: int
    # Agents this tick has already decided to start: later schedules on them pass too.
    starting_agents: set[UUID] = field(default_factory=set)
    # SPEC §14 planned skips (schedules.calendars): schedule id -> its calendars (name, dates),
    # agent id -> (timezone, maintenance windows). Missing: none.
    calendars: dict[UUID, list[tuple[str, list[DateEntry]]]] = field(default_factory=dict)
    maintenance: dict[UUID, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    # Not a gate's input: what a job of the batch references — script id -> its current
    # version (ScriptVersion id, version number).
    code: dict[UUID, tuple[int, int]] = field(default_factory=dict)
    # Runs this batch has dispatched so far, by organization: counted against the monthly
    # quota on top of the month's stored count (count_run, billing_gate).
    runs_added: dict[UUID, int] = field(default_factory=dict)
    # Each agent's effective status at `now`, worked out once per batch (agent_status).
    statuses: dict[UUID, str] = field(default_factory=dict)

    def count_run(self, organization_id: UUID) -> None:
        """A job of this batch was dispatched (or released): it counts toward the quota."""
        self.runs_added[organization_id] = self.runs_added.get(organization_id, 0) + 1


def billing_gate(c: Candidate, ctx: GateContext) -> Skip | None:
    state = ctx.billing.get(c.organization_id)
    if state is None:
        return Skip(SkipReason.BILLING_BLOCKED, "organization not found")
    detail = billing_block_reason(
        state,
        now=ctx.now,
        grace_days=ctx.grace_days,
        runs_added=ctx.runs_added.get(c.organization_id, 0),
    )
    return Skip(SkipReason.BILLING_BLOCKED, detail) if detail else None


def concurrency_gate(c: Candidate, ctx: GateContext) -> Skip | None:
    active = ctx.active_jobs.get(c.schedule_id, 0)
    if active >= c.concurrency_limit:
        return Skip(
            SkipReason.CONCURRENCY_LIMIT,
            f"{active} active job(s), limit {c.concurrency_limit}",
        )
    return None


def idempotency_gate(c: Candidate, ctx: GateContext) -> Skip | None:
    if c.force or c.idempotency_window_minutes == 0:
        return None
    last = ctx.last_job_at.get(c.schedule_id)
    window = timedelta(minutes=c.idempotency_window_minutes)
    if last is not None and ctx.now - last < window:
        return Skip(
            SkipReason.IDEMPOTENCY_WINDOW,
            f"a job was created at {iso_z(last)}, within the "
            f"{c.idempotency_window_minutes}-minute window",
        )
    return None


def vault_gate(c: Candidate, ctx: GateContext) -> Skip | None:
    if not c.vault_keys:
        return None
    existing = ctx.vault_names.get(c.organization_id, set())
    missing = [k for k in c.vault_keys if k not in existing]
    if missing:
        return Skip(SkipReason.VAULT_KEYS_MISSING, "missing: " + ", ".join(missing))
    return None


def agent_status(c: Candidate, ctx: GateContext) -> str:
    status = ctx.statuses.get(c.agent_id)
    if status is None:  # the same for every schedule of the agent in this batch
        agent = ctx.agents[c.agent_id]
        status = effective_status(agent, now=ctx.now, online_seconds=ctx.online_seconds)
        ctx.statuses[c.agent_id] = status
    return status


def agent_needs_start(c: Candidate, ctx: GateContext) -> bool:
    """Offline/stopped with auto-start: the gate passes and dispatch starts the agent."""
    if c.agent_id in ctx.starting_agents:
        return False
    return agent_status(c, ctx) in (AgentStatus.OFFLINE, AgentStatus.STOPPED)


def agent_gate(c: Candidate, ctx: GateContext) -> Skip | None:
    agent = ctx.agents.get(c.agent_id)
    if agent is None:
        return Skip(SkipReason.AGENT_UNAVAILABLE, "agent not found")
    status = agent_status(c, ctx)
    if status in (AgentStatus.ONLINE, AgentStatus.STARTING) or c.agent_id in ctx.starting_agents:
        return None
    if status in (AgentStatus.OFFLINE, AgentStatus.STOPPED) and agent.can_auto_start:
        return None
    why = (
        "auto-start is off"
        if not agent.auto_start
        else f"the {agent.controller} controller cannot auto-start"
    )
    if status == AgentStatus.DISABLED:
        why = "the agent is disabled"
    return Skip(SkipReason.AGENT_UNAVAILABLE, f"agent '{agent.name}' is {status}; {why}")


# The order of SPEC §5. `force` bypasses only "not due" (selection) and the idempotency window
# (inside idempotency_gate) — never billing, concurrency, vault or agent.
GATES: tuple[Callable[[Candidate, GateContext], Skip | None], ...] = (
    billing_gate,
    concurrency_gate,
    idempotency_gate,
    vault_gate,
    agent_gate,
)


def first_blocking_gate(c: Candidate, ctx: GateContext) -> Skip | None:
    """The real tick's question: it stops at the first gate that blocks (the rest are not
    evaluated — the tick is hot, and a skip needs one reason)."""
    for gate in GATES:
        skip = gate(c, ctx)
        if skip is not None:
            return skip
    return None


def blocking_gates(c: Candidate, ctx: GateContext) -> list[Skip]:
    """The dry run's question (SPEC §5 step 5): every gate that would block, in gate order, so
    one dry run shows all there is to fix; the first is first_blocking_gate's answer."""
    return [skip for gate in GATES if (skip := gate(c, ctx)) is not None]
