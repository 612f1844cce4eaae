"""What the tick does with one locked schedule — pure: no queries, no clock, no writes.

`decide` resolves which occurrence runs (catch-up rules, schedules.due), runs the gates in order
(schedules.gates) and returns the rows to write (a Job, events) and the metadata to update; the
engine writes them in one set-based statement per kind for the whole batch.

Bounds and budget (SPEC §14 "When it runs"): the occurrence at which a schedule stops — the
first one at or after `ends_at`, or the one after the run that spent the budget — is recorded
as skipped (`ended`, `run_budget_spent`) and the schedule keeps no next run, saying why
(`stopped_reason`). A one-time schedule stops once its run came due (`ran_once`, or
`once_skipped` when it was missed or a gate blocked it: its event says which).

A forced run ("Run now") is a manual run: like `kubectl create job --from=cronjob/…` or an
EventBridge target invoked by hand, it is allowed on a schedule that has stopped or not yet
started, and it neither spends the run budget nor moves the next run. It still passes every
gate `force` never bypasses (billing, concurrency, vault, agent).

Start deadline (SPEC §14, `start_deadline_minutes`, Kubernetes' startingDeadlineSeconds),
counted from the nominal time: an occurrence whose deadline is already past when the tick would
dispatch it (a catch-up after a gap in ticks) is skipped `start_deadline_exceeded`, recorded as
an event, and not retried. A dispatched job carries the deadline instant (start_deadline_at):
the watchdog cancels it, and the claim refuses it, if it is still waiting then. A forced run has
no deadline: it is manual, started now.

Calendars and maintenance windows (SPEC §14, schedules.calendars.PlannedSkips): once the
occurrence is resolved, and before the start deadline and the gates, an occurrence whose local
date (in the schedule's timezone) is on one of its calendars is skipped `calendar_excluded`, and
one whose local time in its agent's timezone is in one of the agent's maintenance windows is
skipped `agent_maintenance` — recorded as skipped events with scheduled_for; the schedule
advances as with any skip and no run is spent. The preview asks the same predicate. A forced
run is manual: a calendar does not hold it back (running by hand on a holiday is a choice), a
maintenance window does (the agent is being worked on now).

Jitter (schedules.jitter): the engine hands over only rows whose fire instant (next_run_at plus
its offset, `fire_at`) has come; the occurrence keeps its nominal instant as scheduled_for. After
a gap in ticks, the latest occurrence runs as a catch-up only once its own fire instant has come:
until then it becomes the next run (the older ones are recorded missed as usual).

Overlap policy (SPEC §14, `overlap_policy`): when the concurrency gate is the first to block a
scheduled occurrence and the policy is `queue_one` or `replace`, the occurrence is not lost: it
becomes a Job in status `held` (same idempotency key, start deadline snapshot; it spends the run
budget like a dispatch). It is recorded as a skip `concurrency_limit` whose detail starts with
"held:" (the report keeps SPEC §5's shape), with the job's id on the event. The engine then
cancels the schedule's older held scheduled occurrences (superseded: only the newest waits) and,
for `replace`, its active jobs; the tick's release step (schedules.release) moves the held job
to `pending` once a slot is free. lastRunAt/lastRunStatus and the usage count move at release.
A forced run is never held: "Run now" means now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agents.models import JobStatus, Trigger
from config.clock import iso_z
from schedules import ids
from schedules.calendars import PlannedSkips
from schedules.due import ON_TIME_GRACE, resolve_due, resolve_once
from schedules.gates import (
    Candidate,
    GateContext,
    Skip,
    agent_needs_start,
    blocking_gates,
    first_blocking_gate,
)
from schedules.jitter import jitter_offset
from schedules.models import EventKind, OverlapPolicy, Schedule, SkipReason, StopReason

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
    new_next_run_at: datetime | None = None  # None: unchanged (unless stop_reason)
    stop_reason: str = ""  # a StopReason: next_run_at becomes None, and this says why
    spend_run: bool = False  # the job takes one of remaining_runs
    touch_metadata: bool = False  # lastRunAt/lastRunStatus/nextRunAt/budget changed
    notes: list[str] = field(default_factory=list)
    # A scheduled occurrence's fire instant (scheduled_for plus its jitter offset): the metrics
    # measure the dispatch's lateness from it. None for a forced run.
    fire_at: datetime | None = None
    # The job is `held` (overlap policy): the engine supersedes older held occurrences and,
    # with `replace`, cancels the schedule's active jobs.
    held: bool = False
    replace_active: bool = False
    # Dry runs only: every gate that would block, in order (the first is the gate's entry in
    # report_skips). A real tick evaluates gates only up to the first that blocks.
    gate_reasons: tuple[str, ...] = ()

    def skip_reasons(self, reason: str) -> tuple[str, ...]:
        """The `reasons` of a dry run's skipped entry with this `reason`: all blocking gates for
        the gate's entry, the reason alone for the others (missed, ended, deadline)."""
        if self.gate_reasons and reason == self.gate_reasons[0]:
            return self.gate_reasons
        return (reason,)

    def stop(self, reason: str) -> None:
        self.stop_reason, self.new_next_run_at = reason, None


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


def occurrence_key(schedule_id: uuid.UUID, scheduled_for: datetime) -> str:
    """The idempotency key of one occurrence of a schedule: one job per occurrence, ever —
    whether the tick dispatched it on time, held it (overlap policy) or a backfill enqueued it
    later."""
    return f"{schedule_id}:{iso_z(scheduled_for)}"


def job_row(
    s: Schedule,
    *,
    code: tuple[int, int],
    now: datetime,
    scheduled_for: datetime,
    trigger: str,
    held: bool = False,
) -> Row:
    """A Job row for one occurrence (the tick's dispatch, a forced run, a backfill).

    A scheduled or backfilled occurrence is keyed by its nominal instant (occurrence_key), so
    a backfill never enqueues an occurrence that already ran; a forced run is its own
    occurrence. A backfilled job is `held`, and so is a scheduled occurrence the overlap policy
    keeps waiting (`held`): the tick releases held jobs, oldest first, as the concurrency limit
    allows, re-checking the gates then. Only a scheduled run has a start deadline: a forced run
    is started now, and a backfill is deliberately late. `code` is the script's current version
    (its ScriptVersion id, its number): the job references the code, never copies it.
    """
    job_id = ids.uuid4()  # not uuid.uuid4(): see schedules.ids
    waits = held or trigger == Trigger.BACKFILL
    if trigger in (Trigger.SCHEDULED, Trigger.BACKFILL):
        key = occurrence_key(s.id, scheduled_for)
    else:
        key = f"{s.id}:{trigger}:{job_id}"
    return {  # a Job row: what ran is snapshotted, never read back from the schedule
        "id": job_id,
        "organization_id": s.organization_id,
        "schedule_id": s.id,
        "script_id": s.script_id,
        "code_id": code[0],
        "script_version": code[1],
        "agent_id": s.agent_id,
        "trigger": trigger,
        "scheduled_for": scheduled_for,
        "start_deadline_at": (
            s.start_deadline_for(scheduled_for) if trigger == Trigger.SCHEDULED else None
        ),
        "idempotency_key": key,
        # One write per job: a job dispatched now is written `queued`, its message sent after
        # commit (agents.dispatch; a failed send puts it back to `pending` for the
        # republisher, a crash before the send is the vanished-message check's).
        "status": JobStatus.HELD if waits else JobStatus.QUEUED,
        "queued_at": None if waits else now,
        "celery_task_id": "" if waits else str(job_id),
        "attempt": 1,
        "max_attempts": s.max_retries + 1,
        "variables": s.variables,
        "vault_keys": list(s.vault_keys),
        "max_runtime_minutes": s.max_runtime_minutes,
        "retry_delay_seconds": s.retry_delay_seconds,
        "created_at": now,
    }


def _ended_detail(s: Schedule) -> str:
    return f"ends at {iso_z(s.ends_at)}: no run at or after it"


def _stop_at(
    d: Decision, s: Schedule, now: datetime, reason: str, occurrence: datetime | None, detail: str
) -> None:
    """Stop the schedule at `occurrence` (the first that will not run), recorded as its skip.
    StopReason.ENDED and RUN_BUDGET_SPENT share their SkipReason's value."""
    d.stop(StopReason(str(reason)))
    d.report_skips.append((reason, f"{detail}; the schedule stops"))
    d.events.append(event_row(s, now, EventKind.SKIPPED, reason, detail, scheduled_for=occurrence))


def decide(
    s: Schedule, ctx: GateContext, *, now: datetime, force: bool, dry_run: bool = False
) -> Decision:
    """Which occurrence runs, whether the gates let it, and what to write. No I/O.

    `dry_run` also evaluates the gates after the first that blocks (gate_reasons); the real
    tick does not, so it pays nothing for them."""
    d = Decision(schedule=s)
    ended_at: datetime | None = None  # the end bound stops the schedule at this occurrence
    if force:
        scheduled_for, trigger = now, Trigger.FORCED
    else:
        if s.next_run_at is None:  # the engine passes only due schedules (next_run_at <= now)
            raise ValueError(f"schedule {s.id} is not due: it has no next run")
        window = timedelta(minutes=s.catch_up_window_minutes)
        jitter = _stored_jitter(s)
        if s.run_at is not None:
            due = resolve_once(run_at=s.run_at, now=now, catch_up_window=window, jitter=jitter)
            d.stop(StopReason.ONCE_SKIPPED)  # RAN_ONCE below, if it is dispatched
        else:
            due = resolve_due(
                spec=s.cron_spec,
                tz=s.timezone,
                next_run_at=s.next_run_at,
                now=now,
                catch_up_window=window,
                until=s.ends_at,
                jitter=jitter,
            )
            d.new_next_run_at = due.next_run_at
        d.touch_metadata = True
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
            window_text = f"catch-up window {s.catch_up_window_minutes} min"
            d.report_skips.append(
                (
                    SkipReason.MISSED,
                    f"{due.missed_total} occurrence(s) missed ({window_text})",
                )
            )
        if due.ended:
            ended_at = due.next_run_at
        if due.run_at is None:
            return _finish(d, s, now, ended_at)
        if due.run_at != s.next_run_at and s.jitter_seconds:
            # A catch-up of a later occurrence than the stored one: it has its own offset.
            jitter = jitter_offset(s.id, due.run_at, s.jitter_seconds, due.next_run_at)
            if due.run_at + jitter > now:
                # Not yet at its fire instant: it is the next run (no end yet: it still runs).
                d.new_next_run_at = due.run_at
                return d
        scheduled_for, trigger = due.run_at, Trigger.SCHEDULED
        d.fire_at = due.run_at + jitter
        if now - due.run_at - jitter > ON_TIME_GRACE:
            d.notes.append("catch_up")
        if _planned_skip(d, s, ctx, now, scheduled_for, trigger, manual=False):
            return _finish(d, s, now, ended_at)
        start_deadline = s.start_deadline_for(scheduled_for)
        if start_deadline is not None and start_deadline < now:
            # Not started late (SPEC §14): skipped, like a gate's skip, and never retried.
            detail = (
                f"start deadline {s.start_deadline_minutes} min: it could not start by "
                f"{iso_z(start_deadline)}"
            )
            _record_skip(
                d, s, now, SkipReason.START_DEADLINE_EXCEEDED, detail, scheduled_for, trigger
            )
            return _finish(d, s, now, ended_at)

    if force and _planned_skip(d, s, ctx, now, scheduled_for, trigger, manual=True):
        return d

    candidate = Candidate.of(s, force=force)
    skip = _gate_skip(d, candidate, ctx, dry_run=dry_run)
    if skip is not None and _holds(s, skip, trigger):
        return _finish(_hold(d, s, ctx, now, scheduled_for, skip, ended_at), s, now, ended_at)
    if skip is not None:
        _record_skip(d, s, now, skip.reason, skip.detail, scheduled_for, trigger)
        return _finish(d, s, now, ended_at)

    d.start_agent = agent_needs_start(candidate, ctx)
    d.job = job_row(
        s, code=ctx.code[s.script_id], now=now, scheduled_for=scheduled_for, trigger=trigger
    )
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
    if trigger == Trigger.SCHEDULED:
        _spend(d, s, now, ended_at)
    # Later schedules of this batch see this dispatch (quota, slots, window, agent starting).
    ctx.active_jobs[s.id] = ctx.active_jobs.get(s.id, 0) + 1
    ctx.last_job_at[s.id] = now
    ctx.count_run(s.organization_id)
    if d.start_agent:
        ctx.starting_agents.add(s.agent_id)
    return _finish(d, s, now, ended_at)


def _spend(d: Decision, s: Schedule, now: datetime, ended_at: datetime | None) -> None:
    """A scheduled occurrence got a job (dispatched or held): a one-time schedule has run, and
    a budgeted one spends a run (and stops at its last)."""
    if s.run_at is not None:
        d.stop(StopReason.RAN_ONCE)
    elif s.remaining_runs is not None:
        d.spend_run = True
        if s.remaining_runs <= 1 and ended_at is None:  # when both, `ended` says it
            detail = "the run budget is spent: no further scheduled runs"
            _stop_at(d, s, now, SkipReason.RUN_BUDGET_SPENT, d.new_next_run_at, detail)


def _holds(s: Schedule, skip: Skip, trigger: str) -> bool:
    """The overlap policy keeps this blocked occurrence waiting instead of skipping it."""
    return (
        skip.reason == SkipReason.CONCURRENCY_LIMIT
        and trigger == Trigger.SCHEDULED
        and s.overlap_policy in (OverlapPolicy.QUEUE_ONE, OverlapPolicy.REPLACE)
    )


def held_detail(s: Schedule, skip: Skip) -> str:
    """The skip's detail of a held occurrence: it starts "held:" and says what happens next."""
    if s.overlap_policy == OverlapPolicy.REPLACE:
        then = "the active job(s) are canceled and it starts once they have ended"
    else:
        then = "it starts when a slot frees; a newer blocked occurrence supersedes it"
    return f"held: {skip.detail}; overlap policy {s.overlap_policy}: {then}"


def _hold(
    d: Decision,
    s: Schedule,
    ctx: GateContext,
    now: datetime,
    scheduled_for: datetime,
    skip: Skip,
    ended_at: datetime | None,
) -> Decision:
    """The occurrence waits as a held job (module docstring)."""
    d.held = True
    d.replace_active = s.overlap_policy == OverlapPolicy.REPLACE
    d.job = job_row(
        s,
        code=ctx.code[s.script_id],
        now=now,
        scheduled_for=scheduled_for,
        trigger=Trigger.SCHEDULED,
        held=True,
    )
    detail = held_detail(s, skip)
    d.report_skips.append((skip.reason, detail))
    d.events.append(
        event_row(
            s,
            now,
            EventKind.SKIPPED,
            skip.reason,
            detail,
            scheduled_for=scheduled_for,
            job_id=d.job["id"],
            trigger=Trigger.SCHEDULED,
        )
    )
    d.touch_metadata = True
    _spend(d, s, now, ended_at)
    return d


def _gate_skip(d: Decision, c: Candidate, ctx: GateContext, *, dry_run: bool) -> Skip | None:
    if not dry_run:
        return first_blocking_gate(c, ctx)
    skips = blocking_gates(c, ctx)
    d.gate_reasons = tuple(skip.reason for skip in skips)
    return skips[0] if skips else None


def planned_skips(s: Schedule, ctx: GateContext) -> PlannedSkips:
    """The schedule's calendars and its agent's maintenance windows, from the batch context."""
    agent_tz, windows = ctx.maintenance.get(s.agent_id, ("UTC", []))
    return PlannedSkips(
        tz=s.timezone, calendars=ctx.calendars.get(s.id, []), agent_tz=agent_tz, windows=windows
    )


def _planned_skip(
    d: Decision,
    s: Schedule,
    ctx: GateContext,
    now: datetime,
    scheduled_for: datetime,
    trigger: str,
    *,
    manual: bool,
) -> bool:
    """Record the occurrence's planned skip (calendar, maintenance), if it has one."""
    if s.id not in ctx.calendars and not ctx.maintenance.get(s.agent_id, ("", []))[1]:
        return False  # no calendar, no window: the common case asks nothing more
    skip = planned_skips(s, ctx).verdict(scheduled_for, manual=manual)
    if skip is None:
        return False
    _record_skip(d, s, now, skip.reason, skip.detail, scheduled_for, trigger)
    return True


def _record_skip(
    d: Decision,
    s: Schedule,
    now: datetime,
    reason: str,
    detail: str,
    scheduled_for: datetime,
    trigger: str,
) -> None:
    """An occurrence that does not run: a report entry and its skipped event."""
    d.report_skips.append((reason, detail))
    d.events.append(
        event_row(
            s,
            now,
            EventKind.SKIPPED,
            reason,
            detail,
            scheduled_for=scheduled_for,
            trigger=trigger,
        )
    )


def _stored_jitter(s: Schedule) -> timedelta:
    """The offset of the stored next run (fire_at - next_run_at): 0 without jitter."""
    if s.fire_at is None or s.next_run_at is None or s.fire_at < s.next_run_at:
        return timedelta(0)
    return s.fire_at - s.next_run_at


def _finish(d: Decision, s: Schedule, now: datetime, ended_at: datetime | None) -> Decision:
    """The end bound's stop, recorded after the occurrence handled now."""
    if ended_at is not None:
        _stop_at(d, s, now, SkipReason.ENDED, ended_at, _ended_detail(s))
    return d
