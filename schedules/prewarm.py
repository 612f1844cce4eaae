"""Agent pre-warm (SPEC §14 "When it runs"): which agents the tick starts ahead of their runs.

An agent with `prewarm_minutes` N > 0 is started when one of its enabled schedules fires within
the next N minutes (now <= fire instant <= now + N, jitter included: the instant it will really
be dispatched) and it is neither up nor on its way up — so the run finds it online instead of
waiting for its boot. Pure: the tick (schedules.engine) reads the candidates with one grouped
query (schedules.selectors.prewarm_candidates) and starts what this returns.

Only agents the tick could auto-start anyway qualify (auto-start on, a controller other than
`manual`, not disabled), and an agent already `starting` within its grace is left alone: it is
started once, whoever asked first (agents.services.agent_mark_starting is the last line). An
organization the billing gate blocks gets no pre-warm: its runs will not be dispatched, and a
started agent (a VM booted by a webhook) costs money for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from agents.models import AgentStatus
from agents.readiness import AgentState, effective_status
from billing.gate import BillingState, billing_block_reason


@dataclass(frozen=True)
class PrewarmCandidate:
    agent: AgentState
    prewarm_minutes: int
    next_fire_at: datetime  # the earliest fire instant, at or after now, of its enabled schedules
    # Its organization's billing state (None: not known, so not pre-warmed).
    billing: BillingState | None = None
    grace_days: int = 0


def should_prewarm(c: PrewarmCandidate, *, now: datetime, online_seconds: int) -> bool:
    if c.prewarm_minutes <= 0 or not c.agent.can_auto_start:
        return False
    if not now <= c.next_fire_at <= now + timedelta(minutes=c.prewarm_minutes):
        return False
    if c.billing is None or billing_block_reason(c.billing, now=now, grace_days=c.grace_days):
        return False
    status = effective_status(c.agent, now=now, online_seconds=online_seconds)
    return status in (AgentStatus.OFFLINE, AgentStatus.STOPPED)


def agents_to_prewarm(
    candidates: Iterable[PrewarmCandidate], *, now: datetime, online_seconds: int
) -> list[UUID]:
    """The agents to start now, soonest run first (if the tick's budget runs short, the agent
    needed first is the one started)."""
    chosen = [c for c in candidates if should_prewarm(c, now=now, online_seconds=online_seconds)]
    chosen.sort(key=lambda c: (c.next_fire_at, str(c.agent.id)))
    return [c.agent.id for c in chosen]
