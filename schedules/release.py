"""Which held jobs the tick releases (SPEC §14 overlap policy and backfill) — pure: no queries,
no clock, no writes.

A held job is an occurrence waiting for a concurrency slot of its schedule. The tick's release
step (schedules.engine._release_held) locks the schedules that have held jobs, counts their
active jobs, and asks `choose_releases` which to release: per schedule the oldest first
(scheduled_for, then created_at), as many as the free slots allow, never one past its start
deadline (the watchdog cancels those). Under limit 1 a backfill's occurrences therefore run one
after another, oldest first. `gate_releases` then applies the gates that still matter at release
— billing, vault, agent (schedules.gates): concurrency was just settled, and the idempotency
window is about creating occurrences, not releasing them. A blocked held job ends `canceled`
with the gate's error kind; the others become `pending` and are published like a dispatch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from agents.models import ErrorKind
from schedules.gates import (
    Candidate,
    GateContext,
    Skip,
    agent_gate,
    agent_needs_start,
    billing_gate,
    vault_gate,
)
from schedules.models import SkipReason


@dataclass(frozen=True)
class HeldJob:
    id: UUID
    schedule_id: UUID
    organization_id: UUID
    agent_id: UUID | None
    scheduled_for: datetime
    created_at: datetime
    start_deadline_at: datetime | None
    vault_keys: tuple[str, ...] = ()
    trigger: str = "scheduled"


def choose_releases(
    held: list[HeldJob],
    *,
    active: dict[UUID, int],
    limits: dict[UUID, int],
    now: datetime,
    draining: frozenset[UUID] = frozenset(),
) -> list[HeldJob]:
    """Per schedule, its oldest held jobs up to its free slots (limit - active), never one past
    its start deadline (at the deadline instant itself it is still in time, as for a claim).
    Schedules missing from `limits` release nothing, nor do those `draining`: a `replace`
    schedule whose canceled job still runs (its runner has not killed it yet) — the new run
    starts only once the one it replaces has ended, whatever the limit."""
    by_schedule: dict[UUID, list[HeldJob]] = defaultdict(list)
    for job in held:
        if job.schedule_id in draining:
            continue
        if job.start_deadline_at is None or job.start_deadline_at >= now:
            by_schedule[job.schedule_id].append(job)
    chosen: list[HeldJob] = []
    for schedule_id, jobs in by_schedule.items():
        free = limits.get(schedule_id, 0) - active.get(schedule_id, 0)
        if free > 0:
            chosen.extend(sorted(jobs, key=lambda j: (j.scheduled_for, j.created_at))[:free])
    return chosen


# The error kind a held job ends with when a gate refuses it at release.
RELEASE_ERROR_KINDS: dict[str, str] = {
    SkipReason.BILLING_BLOCKED: ErrorKind.BILLING_BLOCKED,
    SkipReason.VAULT_KEYS_MISSING: ErrorKind.VAULT_KEY_MISSING,
    SkipReason.AGENT_UNAVAILABLE: ErrorKind.AGENT_UNAVAILABLE,
}


@dataclass
class Releases:
    released: list[HeldJob] = field(default_factory=list)
    blocked: list[tuple[HeldJob, Skip]] = field(default_factory=list)
    start_agents: set[UUID] = field(default_factory=set)  # offline agents with auto-start


def gate_releases(chosen: list[HeldJob], ctx: GateContext) -> Releases:
    """Billing, vault and agent gates for each chosen job, in that order (SPEC §5's order without
    concurrency and the idempotency window). A release counts toward the month's quota, and an
    agent started for one release is starting for the next, as in the tick's batch."""
    out = Releases()
    for job in chosen:
        skip = _first_release_block(job, ctx)
        if skip is not None:
            out.blocked.append((job, skip))
            continue
        out.released.append(job)
        c = _candidate(job)
        if c is not None and agent_needs_start(c, ctx):
            out.start_agents.add(c.agent_id)
            ctx.starting_agents.add(c.agent_id)
        ctx.count_run(job.organization_id)
    return out


def _candidate(job: HeldJob) -> Candidate | None:
    if job.agent_id is None:
        return None
    return Candidate(
        schedule_id=job.schedule_id,
        organization_id=job.organization_id,
        agent_id=job.agent_id,
        concurrency_limit=0,  # not gated here
        idempotency_window_minutes=0,
        vault_keys=job.vault_keys,
    )


def _first_release_block(job: HeldJob, ctx: GateContext) -> Skip | None:
    c = _candidate(job)
    if c is None:
        return Skip(SkipReason.AGENT_UNAVAILABLE, "its agent was deleted")
    for gate in (billing_gate, vault_gate, agent_gate):
        skip = gate(c, ctx)
        if skip is not None:
            return skip
    return None
