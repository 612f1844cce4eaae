"""What the tick does with one locked schedule — pure: no queries, no clock, no writes.

`decide` resolves which occurrence runs (catch-up rules, schedules.due), runs the gates in order
(schedules.gates) and returns the rows to write (a Job, events) and the metadata to update; the
engine writes them in one set-based statement per kind for the whole batch.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agents.models import JobStatus, Trigger
from config.clock import iso_z
from schedules.due import ON_TIME_GRACE, resolve_due
from schedules.gates import Candidate, GateContext, agent_needs_start, first_blocking_gate
from schedules.models import EventKind, Schedule, SkipReason

# A row to insert, attname -> value (schedules.bulk writes a batch of them in one statement).
Row = dict[str, Any]


@dataclass
class Decision:
    """What to do with one locked schedule. Built by `decide`, written by the engine (schedules.engine._apply)."""

    schedule: Schedule
    job: Row | None = None  # a Job row, written by schedules.bulk
    start_agent: bool = False
    events: list[Row] = field(default_factory=list)  # ScheduleEvent rows
    report_skips: list[tuple[str, str]] = field(default_factory=list)
    new_next_run_at: datetime | None = None
    touch_metadata: bool = False  # lastRunAt/lastRunStatus/nextRunAt changed
    notes: list[str] = field(default_factory=list)


def event_row(
    s: Schedule, now: datetime, kind: str, reason: str = "", detail: str = "", **kw: object
) -> Row:
    """A ScheduleEvent row; kw: scheduled_for, job_id, trigger."""
    return {
        "organization_id": s.organization_id,
        "schedule_id": s.id,
        "kind": str(kind),
        "reason": str(reason),
        "detail": detail,
        "created_at": now,
        **kw,
    }


def _build_job(s: Schedule, *, now: datetime, scheduled_for: datetime, trigger: str) -> Row:
    job_id = uuid.uuid4()
    if trigger == Trigger.SCHEDULED:
        key = f"{s.id}:{iso_z(scheduled_for)}"  # one job per occurrence, ever
    else:
        key = f"{s.id}:{trigger}:{job_id}"  # a forced run is its own occurrence
    return {  # a Job row: what ran is snapshotted, never read back from the schedule
        "id": job_id,
        "organization_id": s.organization_id,
        "schedule_id": s.id,
        "script_id": s.script_id,
        "script_version": s.script.version,
        "script_runtime": s.script.runtime,
        "script_source": s.script.source,
        "agent_id": s.agent_id,
        "trigger": trigger,
        "scheduled_for": scheduled_for,
        "idempotency_key": key,
        "status": JobStatus.PENDING,
        "attempt": 1,
        "max_attempts": s.max_retries + 1,
        "variables": s.variables,
        "vault_keys": list(s.vault_keys),
        "max_runtime_minutes": s.max_runtime_minutes,
        "retry_delay_seconds": s.retry_delay_seconds,
        "created_at": now,
    }


def decide(s: Schedule, ctx: GateContext, *, now: datetime, force: bool) -> Decision:
    """Which occurrence runs, whether the gates let it, and what to write. No I/O."""
    d = Decision(schedule=s)
    if force:
        scheduled_for, trigger = now, Trigger.FORCED
    else:
        if s.next_run_at is None:  # the engine passes only due schedules (next_run_at <= now)
            raise ValueError(f"schedule {s.id} is not due: it has no next run")
        due = resolve_due(
            spec=s.cron_spec,
            tz=s.timezone,
            next_run_at=s.next_run_at,
            now=now,
            catch_up_window=timedelta(minutes=s.catch_up_window_minutes),
        )
        d.new_next_run_at, d.touch_metadata = due.next_run_at, True
        for missed in due.missed:
            d.events.append(
                event_row(
                    s,
                    now,
                    EventKind.SKIPPED,
                    SkipReason.MISSED,
                    "missed: the scheduler was not running",
                    scheduled_for=missed,
                )
            )
        if due.missed_total > len(due.missed):
            more = due.missed_total - len(due.missed)
            d.events.append(
                event_row(
                    s,
                    now,
                    EventKind.SKIPPED,
                    SkipReason.MISSED,
                    f"and {more}+ more missed occurrences",
                )
            )
        if due.missed_total:
            window = f"catch-up window {s.catch_up_window_minutes} min"
            d.report_skips.append(
                (
                    SkipReason.MISSED,
                    f"{due.missed_total} occurrence(s) missed ({window})",
                )
            )
        if due.run_at is None:
            return d
        scheduled_for, trigger = due.run_at, Trigger.SCHEDULED
        if now - due.run_at > ON_TIME_GRACE:
            d.notes.append("catch_up")

    candidate = Candidate(
        schedule_id=s.id,
        organization_id=s.organization_id,
        agent_id=s.agent_id,
        concurrency_limit=s.concurrency_limit,
        idempotency_window_minutes=s.idempotency_window_minutes,
        vault_keys=tuple(s.vault_keys),
        force=force,
    )
    skip = first_blocking_gate(candidate, ctx)
    if skip is not None:
        d.report_skips.append((skip.reason, skip.detail))
        d.events.append(
            event_row(
                s,
                now,
                EventKind.SKIPPED,
                skip.reason,
                skip.detail,
                scheduled_for=scheduled_for,
                trigger=trigger,
            )
        )
        return d

    d.start_agent = agent_needs_start(candidate, ctx)
    d.job = _build_job(s, now=now, scheduled_for=scheduled_for, trigger=trigger)
    d.events.append(
        event_row(
            s,
            now,
            EventKind.TRIGGERED,
            "",
            "",
            scheduled_for=scheduled_for,
            job_id=d.job["id"],
            trigger=trigger,
        )
    )
    d.touch_metadata = True
    # Later schedules of this batch see this dispatch (quota, slots, window, agent starting).
    ctx.active_jobs[s.id] = ctx.active_jobs.get(s.id, 0) + 1
    ctx.last_job_at[s.id] = now
    state = ctx.billing.get(s.organization_id)
    if state is not None:
        ctx.billing[s.organization_id] = dataclasses.replace(
            state, runs_this_month=state.runs_this_month + 1
        )
    if d.start_agent:
        ctx.starting_agents.add(s.agent_id)
    return d
