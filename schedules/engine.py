"""The tick (SPEC §5): select due -> lock -> gates -> dispatch -> report.

One engine serves the beat task, POST /api/schedules/execute and the cron endpoint. It is the
only orchestration of a dispatch, and the only place a scheduled run's side effects happen:

1. Select due rows through the partial index, oldest first, in batches (keyset cursor). Due
   means its fire instant has come (`fire_at`: next_run_at plus its jitter offset).
2. Lock them as they are selected, in the batch's one short transaction (a claim: `FOR UPDATE
   SKIP LOCKED`); a row another evaluator holds is passed over, reported `lock_contention`.
3. Decide, with pure code (schedules.decisions): which occurrence runs, then the gates in order,
   fed by one context built with batched queries (schedules.selectors).
4. Apply the decisions in the same transaction: bulk-insert Jobs (`queued`: one write per job)
   and events, bulk-update lastRunAt/lastRunStatus/nextRunAt, the run budget and the stop
   reason. The unique idempotency key on Job is the last line.
5. After commit: start agents that need it, send the jobs' messages (agents.dispatch), record
   failures: a job whose message could not be sent goes back to `pending` for the republisher;
   a crash before the send leaves `queued` jobs with no message, which the watchdog's
   vanished-message check publishes (agents.dispatch.jobs_republish_vanished).
6. Full ticks only, after the due walk: pre-warm (SPEC §14) — start the offline agents whose
   next run is within their `prewarm_minutes` (schedules.prewarm), inside the same time budget.

A full tick (under the lease) first asks which of its steps have anything to do — jobs owed a
message, held jobs, due rows, agents with pre-warm on — in one statement (selectors.tick_work),
and runs only those: most ticks are idle, and an idle tick is the lease, that question and the
heartbeat with the lease's release: three round trips (lease.commit_not_waiting_for_disk). A
batch is evaluated with Python's cyclic garbage collector paused (_CollectorPaused).

A dry run walks steps 1 and 3 (no locks) and stops: no job, no metadata, no agent start, no
event. Full ticks (beat, cron endpoint) hold the executor lease so two never overlap; manual
executions scoped to an organization or a schedule do not — row locks keep everyone apart.

Time budget and lease. A tick is a sequence of steps: the republish of owed messages, then per
batch the locked transaction and its after-commit work, inside which each agent start is a step
of its own (a webhook may take its whole timeout). Time spent is measured with the `clock`
callable run_tick is given (elapsed seconds; `now` stays the tick's one instant). Two rules:

- The budget (TICK_TIME_BUDGET_SECONDS, 40 s) bounds the whole tick, after-commit publishing and
  agent starts included: a step is started only if, judged by the longest step of its kind so
  far in this tick, it ends inside the budget. What is left is due at the next tick (oldest
  first, so nothing starves); an agent start that no longer fits fails its jobs
  `agent_start_failed` now rather than leaving them queued for an agent nobody starts.
- The lease holder renews the lease before each batch (`lease_renew`, a compare-and-swap on its
  holder token) to `now + elapsed + EXECUTOR_LEASE_SECONDS`. A batch starts inside the budget,
  which is well under the lease (settings refuse budget >= lease), so the lease never lapses
  under a working holder however long the tick as a whole. A holder that finds its lease
  taken stops at once, before its next batch, with error `executor_locked`; what it committed
  is complete (jobs, events, their messages), and row locks plus the idempotency key keep the
  two evaluators apart meanwhile.

The web server's timeout (Procfile) sits above the budget: the cron endpoint runs a tick inside
its request.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from agents.dispatch import jobs_republish_due, jobs_send, jobs_unsend
from agents.models import Agent, Job, JobStatus
from agents.readiness import AgentState
from agents.runtime.logformat import log_event
from agents.services import (
    job_expire_unclaimed,
    jobs_cancel_active,
    jobs_cancel_held,
    jobs_release_held,
    jobs_supersede_held,
)
from billing.audit import Actor, audit_entry, audit_record_many
from billing.models import AuditAction, AuditObjectType
from billing.selectors import billing_states_for
from billing.services import usage_add_runs
from config.clock import iso_z
from schedules import metrics
from schedules.alert_rules import Candidate, next_streak, runs_skipped_alert
from schedules.alerts import alerts_enqueue
from schedules.bulk import bulk_insert, bulk_update_columns
from schedules.decisions import Decision, decide, event_row
from schedules.lease import (
    TICK_LEASE,
    commit_not_waiting_for_disk,
    lease_acquire,
    lease_holder_until,
    lease_release,
    lease_release_statement,
    lease_renew,
)
from schedules.models import (
    ErrorCode,
    EventKind,
    OverlapPolicy,
    RunStatus,
    Schedule,
    ScheduleEvent,
    SkipReason,
    TickHeartbeat,
)
from schedules.prewarm import PrewarmCandidate, agents_to_prewarm
from schedules.release import RELEASE_ERROR_KINDS, HeldJob, choose_releases, gate_releases
from schedules.report import Prewarmed, Report, Triggered
from schedules.selectors import (
    TickWork,
    gate_context,
    prewarm_candidates,
    schedule_due_claim,
    schedule_due_held_elsewhere,
    tick_work,
)

log = logging.getLogger(__name__)

# Ticks without the lease (scoped executions, helpers) do not ask tick_work: every step runs.
_ALL_WORK = TickWork(republish=True, release=True, due=True, prewarm=True)

# --- The tick ------------------------------------------------------------------------------------


class _Budget:
    """The tick's time budget, measured with the injected clock (elapsed seconds)."""

    def __init__(self, clock: Callable[[], float], seconds: float) -> None:
        self._clock = clock
        self._started = clock()
        self.seconds = seconds
        self._longest: dict[str, float] = {}

    def elapsed(self) -> float:
        return self._clock() - self._started

    def fits(self, kind: str) -> bool:
        """Room for one more step of `kind`, as long as the longest one so far."""
        return self.elapsed() + self._longest.get(kind, 0.0) < self.seconds

    def took(self, kind: str, since: float) -> None:
        """Record a step of `kind` that started at elapsed() == `since`."""
        self._longest[kind] = max(self._longest.get(kind, 0.0), self.elapsed() - since)


@dataclass
class _Lease:
    """The executor lease this tick holds, kept alive between batches."""

    holder: str
    now: datetime
    budget: _Budget
    lost: bool = False
    renewed_at: float = 0.0  # elapsed seconds at the last renewal (taking it counts)

    def renew(self) -> bool:
        elapsed = self.budget.elapsed()
        if elapsed - self.renewed_at < 1.0:
            # Taken or renewed this very second: it runs a whole lease length from then, and
            # nobody can have taken it over (an idle or one-batch tick pays no renewal).
            return not self.lost
        at = self.now + timedelta(seconds=elapsed)
        if not lease_renew(
            name=TICK_LEASE, holder=self.holder, now=at, ttl_seconds=settings.EXECUTOR_LEASE_SECONDS
        ):
            self.lost = True
        self.renewed_at = elapsed
        return not self.lost


@dataclass
class _Dispatched:
    """What a committed batch still owes the outside world."""

    jobs: list[tuple[dict, Schedule, list[str]]] = field(default_factory=list)  # (job row, …)
    # Job rows carry their agent_id: a released held job keeps the agent it was created for,
    # which a later edit of its schedule may have changed.
    agents_to_start: dict[UUID, Agent] = field(default_factory=dict)
    # job id -> its occurrence's fire instant (scheduled dispatches only), for the lateness metric
    fire_at: dict[UUID, datetime] = field(default_factory=dict)


def run_tick(
    *,
    now: datetime,
    dry_run: bool = False,
    force: bool = False,
    schedule_id: UUID | None = None,
    limit: int | None = None,
    organization_id: UUID | None = None,
    use_executor_lock: bool = True,
    on_lease_acquired: Callable[[], None] | None = None,
    budget_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    actor: Actor | None = None,
) -> Report:
    """Evaluate due schedules at `now`. `force` needs `schedule_id` (the API enforces it).

    `limit` caps how many due rows this call evaluates; None (the beat tick) means all of them,
    bounded only by the tick's time budget (`budget_seconds`, TICK_TIME_BUDGET_SECONDS unless
    given). `on_lease_acquired` runs once the executor lease is held, if there are due rows or
    held jobs (the beat task starts its helper evaluators there). `clock` gives elapsed
    seconds (monotonic) for the budget and the lease renewals. `actor` (who pressed "Run now")
    is recorded in the audit trail with each forced job."""
    report = Report(dry_run=dry_run, evaluated_at=now)
    if force and schedule_id is None:
        raise ValueError("force requires schedule_id")
    budget = _Budget(
        clock, settings.TICK_TIME_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    )
    holder = None
    if use_executor_lock and not dry_run:
        holder = lease_acquire(
            name=TICK_LEASE, now=now, ttl_seconds=settings.EXECUTOR_LEASE_SECONDS
        )
        if holder is None:
            until = lease_holder_until(name=TICK_LEASE)
            report.error(
                None,
                ErrorCode.EXECUTOR_LOCKED,
                f"another tick holds the executor lock until {iso_z(until)}",
            )
            _record_health(now=now)
            metrics.observe_report(report, full_tick=True)
            return report
    lease = None if holder is None else _Lease(holder=holder, now=now, budget=budget)
    full_tick = holder is not None
    try:
        # A tick under the lease first asks which of its steps have anything to do (one
        # statement): most ticks are idle, and then run no step's query at all.
        work = tick_work(now=now) if lease is not None else _ALL_WORK
        if lease is not None:
            if on_lease_acquired is not None and (work.due or work.release):
                on_lease_acquired()
            if work.republish:
                _republish_owed(now=now, report=report)
        if not dry_run and schedule_id is None and work.release:
            # Full ticks and organization-scoped executions release held jobs whose slot freed,
            # before the due walk, so an occurrence waiting since an earlier tick goes first.
            _release_held(now=now, organization_id=organization_id, report=report, budget=budget)
        if schedule_id is not None:

            def claim_one() -> list[Schedule]:
                return _lock_named(
                    schedule_id,
                    now=now,
                    dry_run=dry_run,
                    force=force,
                    organization_id=organization_id,
                    report=report,
                )

            _process_batch(
                claim_one,
                now=now,
                dry_run=dry_run,
                force=force,
                report=report,
                budget=budget,
                actor=actor if force else None,
            )
        elif work.due:
            _walk_due(
                now=now,
                dry_run=dry_run,
                limit=limit,
                organization_id=organization_id,
                report=report,
                budget=budget,
                lease=lease,
            )
        if lease is not None and not lease.lost:
            if schedule_id is None and organization_id is None and work.prewarm:
                _prewarm(now=now, report=report, budget=budget)
            # The heartbeat and the lease's release: one commit, one round trip.
            statements = [_heartbeat_statement(now=now)]
            if holder is not None:
                statements.append(lease_release_statement(name=TICK_LEASE, holder=holder))
            commit_not_waiting_for_disk(statements)
            holder = None
    finally:
        if holder is not None:
            lease_release(name=TICK_LEASE, holder=holder)
    metrics.observe_report(report, full_tick=full_tick)
    return report


def _walk_due(*, now, dry_run, limit, organization_id, report, budget, lease) -> None:
    """Batches of due rows until `limit` rows were evaluated or the time budget is spent;
    whatever is left is due at the next tick (oldest first, so nothing starves). The lease, if
    held, is renewed before each batch; a lease taken over stops the walk there.

    Lanes (TICK_LANES, PostgreSQL): an evaluator works that many batches at once, each in a
    thread with its own connection — while one batch waits on PostgreSQL (its writes, its
    commit), another's decisions run in Python, so one process keeps both of a small machine's
    cores busy. Each batch claims its rows (_DuePages.claim), so lanes, like evaluator
    processes, take rows nobody holds; like two evaluators, two lanes read the billing quota's
    usage as committed (a batch's runs are counted when it commits). A walk inside a caller's
    transaction (which other connections cannot see) has one lane; the other lanes start when
    the first claim fills its batch (an idle or small tick opens no other connection)."""
    pages = _DuePages(
        now=now,
        limit=limit,
        organization_id=organization_id,
        report=report,
        budget=budget,
        lease=lease,
        dry_run=dry_run,
    )
    lanes = 1 if connection.in_atomic_block else max(settings.TICK_LANES, 1)

    def lane() -> None:
        while pages.may_start():
            started = budget.elapsed()
            _process_batch(
                pages.claim,
                now=now,
                dry_run=dry_run,
                force=False,
                report=report,
                budget=budget,
            )
            budget.took("batch", since=started)

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="tick-lane") as pool:
        running: list[Future[None]] = []
        if lanes > 1:
            pages.on_full_batch = lambda: running.extend(
                pool.submit(_in_own_connection, lane) for _ in range(lanes - 1)
            )
        lane()
        for other in running:
            other.result()


def _in_own_connection(work: Callable[[], None]) -> None:
    """Run `work` in this (lane) thread, closing the connection Django opened for it."""
    try:
        work()
    finally:
        connection.close()


class _DuePages:
    """The walk's batches of due rows, claimed one at a time by its lanes (under a lock):
    keyset cursor, `limit`, time budget and lease renewal in one place.

    A batch claims its rows inside its own transaction — the next TICK_BATCH_SIZE due rows
    after the cursor that nobody holds, locked as they are read (FOR UPDATE SKIP LOCKED; a dry
    run reads them unlocked) — and the cursor moves past them. Two evaluators (or lanes) thus
    never try the same rows in turn (where each read a page and then tried to lock it, a third
    or more of the batches of two evaluators found their rows held by the other). The rows a
    claim passed over because another evaluator holds them are still reported
    `lock_contention`: a count over the claim's range, the ids only when it differs
    (schedule_due_held_elsewhere)."""

    def __init__(self, *, now, limit, organization_id, report, budget, lease, dry_run) -> None:
        self.now, self.organization_id, self.report = now, organization_id, report
        self.budget, self.lease, self.dry_run = budget, lease, dry_run
        self.remaining = limit if limit is not None else float("inf")
        self.cursor: tuple[UUID, datetime] | None = None
        self.done = False
        self.on_full_batch: Callable[[], None] | None = None  # once: start the other lanes
        self._lock = threading.Lock()

    def may_start(self) -> bool:
        """Whether another batch may start: rows may be left, `limit` and the time budget
        allow it, and the lease (if held) was renewed."""
        with self._lock:
            if self.done or self.remaining <= 0 or not self.budget.fits("batch"):
                self.done = True
                return False
            if self.lease is not None and not self.lease.renew():
                self.done = True
                log_event(
                    log, logging.WARNING, "tick_lease_lost", elapsed=round(self.budget.elapsed(), 1)
                )
                self.report.error(
                    None,
                    ErrorCode.EXECUTOR_LOCKED,
                    f"the executor lease was taken over {self.budget.elapsed():.0f} s into this "
                    "tick; it stopped there and what is left is due at the next tick",
                )
                return False
            return True

    def claim(self) -> list[Schedule]:
        """This batch's rows, in the caller's transaction; [] when none is left."""
        with self._lock:
            size = int(min(settings.TICK_BATCH_SIZE, self.remaining))
            if self.done or size <= 0:
                return []
            try:
                rows = schedule_due_claim(
                    now=self.now,
                    organization_id=self.organization_id,
                    after=self.cursor,
                    size=size,
                    lock=not self.dry_run,
                )
            except Exception:
                self.done = True  # the cursor cannot move on: the rest is due at the next tick
                raise
            after = self.cursor
            if len(rows) < size:
                self.done = True
            if rows:
                last = rows[-1]  # its fire_at is set: it was selected by fire_at <= now
                self.cursor = upto = (last.id, cast(datetime, last.fire_at))
                self.remaining -= len(rows)
            if len(rows) == size and self.on_full_batch is not None:
                start, self.on_full_batch = self.on_full_batch, None
                start()
        if rows and not self.dry_run:
            held = schedule_due_held_elsewhere(
                now=self.now,
                organization_id=self.organization_id,
                after=after,
                upto=upto,
                claimed=[s.id for s in rows],
            )
            for pk in held:
                self.report.skip(
                    pk, SkipReason.LOCK_CONTENTION, "another evaluator holds this schedule"
                )
        return _with_agents(rows)


class _CollectorPaused:
    """Python's cyclic garbage collector off while a batch is decided and written, back on
    when no lane is inside one. A batch allocates some hundred thousand short-lived dicts,
    datetimes and lists, none in a cycle (reference counting frees them): the collector would
    walk the whole heap, Django's included, several times per batch for nothing — a sixth of
    a busy tick's Python time. Process-wide, like the collector; left off if it was off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._restore = False

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._restore = gc.isenabled()
                gc.disable()
            self._inside += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._restore:
                gc.enable()


_collector_paused = _CollectorPaused()


def _process_batch(claim: Callable[[], list[Schedule]], **kw) -> None:
    """One batch: claimed (its rows locked), decided and written in one transaction, then its
    messages sent."""
    with _collector_paused:
        _evaluate_batch(claim, **kw)


def _evaluate_batch(claim, *, now, dry_run, force, report, budget, actor=None) -> None:
    owed = _Dispatched()
    rows: list[Schedule] = []
    try:
        with transaction.atomic():
            rows = claim()
            if not rows:
                return
            ctx = gate_context(schedules=rows, now=now)
            decisions = _decide_each(
                rows, ctx, now=now, force=force, dry_run=dry_run, report=report
            )
            for d in decisions:
                for reason, detail in d.report_skips:
                    reasons = d.skip_reasons(reason) if dry_run else None
                    report.skip(d.schedule.id, reason, detail, reasons)
            if dry_run:
                for d in decisions:
                    if d.job is not None and not d.held:  # a held one is reported skipped
                        notes = d.notes + (["agent_would_auto_start"] if d.start_agent else [])
                        report.triggered.append(_triggered(d.schedule, d.job, notes, dry_run=True))
                return
            owed = _apply(decisions, now=now)
            _audit_forced(owed, actor=actor, now=now)
    except Exception as exc:  # one batch's failure never stops the others
        log_event(log, logging.ERROR, "tick_batch_failed", exc_info=True, schedules=len(rows))
        message = f"{type(exc).__name__}: evaluation failed; nothing was written"
        failed: list[UUID | None] = [s.id for s in rows] or [None]  # none: the claim failed
        for pk in failed:
            report.error(pk, ErrorCode.INTERNAL_ERROR, message)
        return
    _after_commit(owed, now=now, report=report, budget=budget)


def _decide_each(rows, ctx, *, now, force, dry_run, report) -> list[Decision]:
    """decide() for each row; one schedule's failure (say, an expression stored around
    validation) is reported and recorded for that schedule, never stops the others."""
    decisions = []
    for s in rows:
        try:
            decisions.append(decide(s, ctx, now=now, force=force, dry_run=dry_run))
        except Exception as exc:
            log_event(log, logging.ERROR, "decide_failed", exc_info=True, schedule=s.id)
            message = f"{type(exc).__name__}: {exc}"[:300]
            report.error(s.id, ErrorCode.INTERNAL_ERROR, message)
            failed = Decision(schedule=s)
            failed.events.append(
                event_row(s, now, EventKind.ERROR, ErrorCode.INTERNAL_ERROR, message)
            )
            decisions.append(failed)
    return decisions


def _lock_named(
    schedule_id: UUID, *, now, dry_run, force, organization_id, report
) -> list[Schedule]:
    """The named schedule, locked (SKIP LOCKED) unless a dry run — or [] with the reason it
    does not run now reported: paused, not due, or held by another evaluator."""
    qs = Schedule.objects.filter(id=schedule_id)
    if organization_id is not None:
        qs = qs.filter(organization_id=organization_id)
    s = qs.first()
    if s is None:
        return []
    if not s.enabled:
        report.skip(s.id, SkipReason.DISABLED, s.paused_note or "schedule is paused")
        return []
    if not force and (s.fire_at is None or s.fire_at > now):
        if s.stopped_reason:
            why = f"stopped ({s.stopped_reason}): no next run"
        else:
            why = f"next run at {iso_z(s.next_run_at)}"
            if s.fire_at is not None and s.fire_at != s.next_run_at:
                why += f", jittered to {iso_z(s.fire_at)}"
        report.skip(s.id, SkipReason.NOT_DUE, why)
        return []
    if not force:
        qs = qs.filter(enabled=True, fire_at__lte=now, next_run_at__lte=now)
    if dry_run:
        return _with_agents(list(qs))
    rows = _with_agents(list(qs.select_for_update(skip_locked=True)))
    # None: locked by another evaluator — unless it was handled and committed meanwhile, in
    # which case the same query (unlocked) finds it no longer due and there is nothing to say.
    if not rows and qs.exists():
        report.skip(
            schedule_id, SkipReason.LOCK_CONTENTION, "another evaluator holds this schedule"
        )
    return rows


def _with_agents(rows: list[Schedule]) -> list[Schedule]:
    """Attach each schedule's agent: one query for the batch (a few distinct), not a join that
    repeats an agent's row in every schedule's. (Jobs reference their script's version:
    gate_context reads those ids.) First the batch's equal foreign keys become one object
    each (_share_ids)."""
    if not rows:
        return rows
    agent_ids = _share_ids(rows)["agent_id"]
    found = {a.id: a for a in Agent.objects.filter(id__anyof=agent_ids)}
    agents = {pk: found[pk] for pk in agent_ids}  # keyed by the rows' own id objects
    attach = Schedule.agent.field.set_cached_value  # the agent its agent_id names: no checks
    for s in rows:
        attach(s, agents[s.agent_id])
    return rows


# A batch's rows name a few organizations, agents and scripts, each in a UUID object of its own.
_SHARED_IDS = ("organization_id", "script_id", "agent_id")


def _share_ids(rows: list[Schedule]) -> dict[str, set[UUID]]:
    """Make the batch's equal organization, script and agent ids one object each; returns each
    column's distinct ids. The tick looks these up in its batch context a dozen times a row, and
    a dict finds an identical key at once, where an equal one costs a call of UUID.__eq__
    (Python code): two hundred thousand of them in a busy tick. (Equal values: the descriptor
    that guards a foreign key's cached object has nothing to do.)"""
    distinct: dict[str, set[UUID]] = {}
    for name in _SHARED_IDS:
        shared: dict[UUID, UUID] = {}
        for s in rows:
            values = s.__dict__
            values[name] = shared.setdefault(values[name], values[name])
        distinct[name] = set(shared)
    return distinct


def _audit_forced(owed: _Dispatched, *, actor: Actor | None, now: datetime) -> None:
    """A forced run's audit entry, in the transaction that wrote its job (none without an
    actor: the tick's own dispatches are the schedule's history, not someone's act)."""
    if actor is None:
        return
    audit_record_many(
        [
            audit_entry(
                actor=actor,
                organization_id=s.organization_id,
                action=AuditAction.FORCED,
                object_type=AuditObjectType.SCHEDULE,
                object_id=s.id,
                object_label=s.name,
                now=now,
                note=f"job {job['id']}",
            )
            for job, s, _notes in owed.jobs
        ]
    )


def _apply(decisions: list[Decision], *, now: datetime) -> _Dispatched:
    """All writes of a batch, inside its transaction: four statements, whatever its size."""
    owed = _Dispatched()
    # The unique idempotency key is the last line: a job whose occurrence was already
    # dispatched is skipped by the database, and its schedule's decision is dropped whole.
    inserted = bulk_insert(
        Job, [d.job for d in decisions if d.job is not None], skip_conflicts_on="idempotency_key"
    )
    events: list[dict] = []
    touched: list[Schedule] = []
    keep_held: dict[UUID, tuple[UUID, str]] = {}  # schedule -> (its newest held job, message)
    replaced: dict[UUID, str] = {}  # schedule -> message for its canceled active jobs
    skipped_alerts: list[Candidate] = []
    for d in decisions:
        s = d.schedule
        if d.job is not None and d.job["id"] not in inserted:
            log_event(log, logging.WARNING, "duplicate_occurrence", key=d.job["idempotency_key"])
            continue
        events.extend(d.events)
        if d.held and d.job is not None:
            at = iso_z(d.job["scheduled_for"])
            keep_held[s.id] = (d.job["id"], f"Superseded by the blocked occurrence at {at}.")
            if d.replace_active:
                replaced[s.id] = f"Replaced by the occurrence at {at} (overlap policy replace)."
        if d.new_next_run_at is not None:
            s.next_run_at = d.new_next_run_at
        if d.stop_reason:
            s.next_run_at, s.stopped_reason = None, d.stop_reason
        if d.new_next_run_at is not None or d.stop_reason:
            s.fire_at = s.fire_at_for(s.next_run_at)  # its jitter offset, if any
        if d.spend_run and s.remaining_runs is not None:
            # The row is locked (FOR UPDATE) by this transaction, so the value read is current:
            # the budget is spent once per inserted job, in the statement below.
            s.remaining_runs -= 1
        if d.job is not None and not d.held:  # a held job counts when it is released
            s.last_run_at, s.last_run_status = now, RunStatus.PENDING
            notes = d.notes + (["agent_auto_started"] if d.start_agent else [])
            owed.jobs.append((d.job, s, notes))
            if d.fire_at is not None:
                owed.fire_at[d.job["id"]] = d.fire_at
            if d.start_agent:
                owed.agents_to_start.setdefault(s.agent_id, s.agent)
        streak_before = s.consecutive_skips
        alert = _follow_skip_streak(s, d)
        if alert is not None:
            skipped_alerts.append(alert)
        if d.touch_metadata or s.consecutive_skips != streak_before:
            touched.append(s)
    bulk_insert(ScheduleEvent, events)
    bulk_update_columns(
        Schedule,
        touched,
        [
            "next_run_at",
            "fire_at",
            "last_run_at",
            "last_run_status",
            "remaining_runs",
            "stopped_reason",
            "consecutive_skips",
        ],
    )
    # runs_skipped: outbox rows in this transaction (one channel read for the batch, and only
    # when a streak grew); sent after commit by schedules.tasks — never from the tick.
    alerts_enqueue(candidates=skipped_alerts, now=now)
    usage_add_runs(counts=Counter(s.organization_id for _, s, _ in owed.jobs), now=now)
    # Overlap policy: only the newest blocked occurrence waits; `replace` cancels what runs.
    jobs_supersede_held(keep=keep_held, now=now)
    jobs_cancel_active(messages=replaced, now=now)
    return owed


def _follow_skip_streak(s: Schedule, d: Decision) -> Candidate | None:
    """Keep the schedule's count of unplanned skips in a row (the row is locked, so the value
    read is current); a grown streak is a runs_skipped candidate (its channels' thresholds are
    compared in schedules.alert_rules)."""
    before = s.consecutive_skips
    reasons = [e["reason"] for e in d.events if e["kind"] == EventKind.SKIPPED]
    after = next_streak(before, ran=d.job is not None, skip_reasons=reasons)
    s.consecutive_skips = after
    if after <= before:
        return None
    return runs_skipped_alert(
        organization_id=s.organization_id,
        schedule_id=s.id,
        schedule_name=s.name,
        streak=(before, after),
        last_reason=reasons[-1],
    )


# --- Release of held jobs (SPEC §14 overlap policy, backfill) -------------------------------


def _release_held(*, now, organization_id, report, budget) -> None:
    """Batches of schedules with held jobs (keyset on the schedule id, so every schedule gets
    its turn however many wait at their limit), while the time budget lasts: lock them (the
    tick's row lock, so the active count agrees with dispatch), release the oldest held jobs
    into the free slots (gated), and publish them after commit like the tick's dispatches. A
    schedule another evaluator holds is left for the next tick."""
    cursor = None
    while budget.fits("release"):
        started = budget.elapsed()
        ids = _schedules_holding(organization_id=organization_id, after=cursor)
        if not ids:
            return
        cursor = ids[-1]
        try:
            with transaction.atomic():
                owed = _release_batch(ids, now=now, report=report)
        except Exception as exc:  # the release never stops the due walk
            log_event(log, logging.ERROR, "tick_release_failed", exc_info=True)
            report.error(
                None,
                ErrorCode.INTERNAL_ERROR,
                f"{type(exc).__name__}: release of held jobs failed; nothing was written",
            )
            return
        _after_commit(owed, now=now, report=report, budget=budget)
        budget.took("release", since=started)
        if len(ids) < settings.TICK_BATCH_SIZE:
            return


def _schedules_holding(*, organization_id, after) -> list[UUID]:
    """A page of schedule ids that have held jobs (index job_held_by_schedule)."""
    holding = Job.objects.filter(status=JobStatus.HELD, schedule_id__isnull=False)
    if organization_id is not None:
        holding = holding.filter(organization_id=organization_id)
    if after is not None:
        holding = holding.filter(schedule_id__gt=after)
    return list(
        holding.order_by("schedule_id")
        .values_list("schedule_id", flat=True)
        .distinct()[: settings.TICK_BATCH_SIZE]
    )


def _release_batch(ids, *, now, report) -> _Dispatched:
    owed = _Dispatched()
    rows = list(
        Schedule.objects.filter(id__in=ids, enabled=True).select_for_update(skip_locked=True)
    )
    if not rows:
        return owed
    widest = max(s.concurrency_limit for s in rows)
    rank = Window(
        RowNumber(),
        partition_by=[F("schedule_id")],
        order_by=[F("scheduled_for").asc(), F("created_at").asc()],
    )
    held = [
        HeldJob(
            id=row["id"],
            schedule_id=row["schedule_id"],
            organization_id=row["organization_id"],
            agent_id=row["agent_id"],
            scheduled_for=row["scheduled_for"],
            created_at=row["created_at"],
            start_deadline_at=row["start_deadline_at"],
            vault_keys=tuple(row["vault_keys"] or ()),
            trigger=row["trigger"],
        )
        for row in Job.objects.filter(schedule_id__in=[s.id for s in rows], status=JobStatus.HELD)
        .filter(Q(start_deadline_at__isnull=True) | Q(start_deadline_at__gte=now))
        .annotate(rank=rank)
        .filter(rank__lte=widest)
        .order_by()
        .values(
            "id",
            "schedule_id",
            "organization_id",
            "agent_id",
            "scheduled_for",
            "created_at",
            "start_deadline_at",
            "vault_keys",
            "trigger",
        )
    ]
    agents = Agent.objects.in_bulk(
        {s.agent_id for s in rows} | {j.agent_id for j in held if j.agent_id}
    )
    for s in rows:
        s.agent = agents[s.agent_id]
    ctx = gate_context(schedules=rows, now=now)
    ctx.agents.update({pk: AgentState.from_agent(a) for pk, a in agents.items()})
    replacing = [s.id for s in rows if s.overlap_policy == OverlapPolicy.REPLACE]
    draining = frozenset(
        Job.objects.filter(
            schedule_id__in=replacing, status=JobStatus.RUNNING, cancel_requested_at__isnull=False
        )
        .order_by()
        .values_list("schedule_id", flat=True)
        .distinct()
        if replacing
        else ()
    )
    chosen = choose_releases(
        held,
        active=ctx.active_jobs,
        limits={s.id: s.concurrency_limit for s in rows},
        now=now,
        draining=draining,
    )
    verdict = gate_releases(chosen, ctx)
    released = set(jobs_release_held(job_ids=[j.id for j in verdict.released], now=now))
    canceled = set(
        jobs_cancel_held(
            outcomes={
                j.id: (
                    RELEASE_ERROR_KINDS[skip.reason],
                    f"Held, then refused at release: {skip.detail}",
                )
                for j, skip in verdict.blocked
            },
            now=now,
        )
    )
    by_id = {s.id: s for s in rows}
    events, touched = [], {}
    for job, skip in verdict.blocked:
        if job.id not in canceled:
            continue
        s = by_id[job.schedule_id]
        detail = f"held job released into a gate: {skip.detail}; canceled"
        report.skip(s.id, skip.reason, detail)
        events.append(
            event_row(
                s,
                now,
                EventKind.SKIPPED,
                skip.reason,
                detail,
                scheduled_for=job.scheduled_for,
                job_id=job.id,
                trigger=job.trigger,
            )
        )
    for job in verdict.released:
        if job.id not in released:
            continue
        s = by_id[job.schedule_id]
        trigger = job.trigger
        events.append(
            event_row(
                s,
                now,
                EventKind.TRIGGERED,
                "",
                "released: a concurrency slot freed",
                scheduled_for=job.scheduled_for,
                job_id=job.id,
                trigger=trigger,
            )
        )
        s.last_run_at, s.last_run_status = now, RunStatus.PENDING
        touched[s.id] = s
        start = job.agent_id in verdict.start_agents and job.agent_id not in owed.agents_to_start
        notes = ["released"] + (
            ["agent_auto_started"] if job.agent_id in verdict.start_agents else []
        )
        owed.jobs.append(
            (
                {
                    "id": job.id,
                    "scheduled_for": job.scheduled_for,
                    "trigger": trigger,
                    "agent_id": job.agent_id,
                },
                s,
                notes,
            )
        )
        if start and job.agent_id is not None:  # a released job has its agent (gate_releases)
            owed.agents_to_start[job.agent_id] = agents[job.agent_id]
    bulk_insert(ScheduleEvent, events)
    bulk_update_columns(Schedule, list(touched.values()), ["last_run_at", "last_run_status"])
    usage_add_runs(counts=Counter(s.organization_id for _, s, _ in owed.jobs), now=now)
    return owed


def _after_commit(owed: _Dispatched, *, now: datetime, report: Report, budget: _Budget) -> None:
    """Network side effects, after the rows are safely committed."""
    if not owed.jobs:
        return
    failed_agents = _start_agents(owed.agents_to_start, now=now, budget=budget)
    to_publish, error_events = [], []
    for job, s, notes in owed.jobs:
        if job["agent_id"] in failed_agents:
            message = f"agent start failed: {failed_agents[job['agent_id']]}"
            report.error(s.id, ErrorCode.AGENT_START_FAILED, message)
            error_events.append(
                event_row(
                    s,
                    now,
                    EventKind.ERROR,
                    ErrorCode.AGENT_START_FAILED,
                    message,
                    scheduled_for=job["scheduled_for"],
                    job_id=job["id"],
                    trigger=job["trigger"],
                )
            )
            continue
        fire_at = owed.fire_at.get(job["id"])
        report.triggered.append(_triggered(s, job, notes, dry_run=False, fire_at=fire_at))
        to_publish.append((job["id"], job["agent_id"]))
    if failed_agents:
        _fail_jobs_of_unstartable_agents(owed, failed_agents, now=now)
    result = jobs_send(jobs=to_publish)
    jobs_unsend(job_ids=list(result.failed))
    by_job = {job["id"]: (job, s) for job, s, _ in owed.jobs} if result.failed else {}
    for job_id, message in result.failed.items():
        job, s = by_job[job_id]
        report.error(
            s.id,
            ErrorCode.DISPATCH_FAILED,
            f"{message}; job {job_id} stays pending and will be republished",
        )
        error_events.append(
            event_row(
                s,
                now,
                EventKind.ERROR,
                ErrorCode.DISPATCH_FAILED,
                message,
                scheduled_for=job["scheduled_for"],
                job_id=job_id,
                trigger=job["trigger"],
            )
        )
    bulk_insert(ScheduleEvent, error_events)


def _start_agents(agents: dict[UUID, Agent], *, now: datetime, budget: _Budget) -> dict[UUID, str]:
    """Start each offline agent once, while the tick's budget lasts; returns agent id ->
    failure message."""
    if not agents:
        return {}
    from agents.controllers import AgentStartFailed, agent_start

    failed = {}
    for agent_id, agent in agents.items():
        if not budget.fits("agent_start"):
            # Its jobs are committed; failing them now frees their slots and says why, where
            # a job left queued would wait for an agent nobody starts.
            failed[agent_id] = "the tick's time budget was spent before it could be started"
            continue
        started = budget.elapsed()
        try:
            agent_start(agent=agent, now=now)
        except AgentStartFailed as exc:
            failed[agent_id] = str(exc)
        except Exception as exc:  # a controller bug must not take the tick down
            log_event(log, logging.ERROR, "agent_start_crashed", exc_info=True, agent=agent_id)
            failed[agent_id] = f"{type(exc).__name__}"
        finally:
            budget.took("agent_start", since=started)
    return failed


def _prewarm(*, now: datetime, report: Report, budget: _Budget) -> None:
    """Start the agents whose next run is within their pre-warm lead (schedules.prewarm), while
    the budget lasts — soonest run first; one left over is tried again at the next tick. A
    failed start is logged and reported (agent_start_failed, no schedule) and fails no job: the
    run's own tick will try to start the agent again, as it always does."""
    if not budget.fits("agent_start"):
        return
    try:
        found = prewarm_candidates(now=now)
    except Exception:
        log_event(log, logging.ERROR, "agent_prewarm_query_failed", exc_info=True)
        return
    agents = {a.id: a for a, _ in found}
    # The billing gate's states of their organizations (two queries, only when there are any).
    billing = (
        billing_states_for({a.organization_id for a in agents.values()}, now=now) if found else {}
    )
    candidates = {
        a.id: PrewarmCandidate(
            agent=AgentState.from_agent(a),
            prewarm_minutes=a.prewarm_minutes,
            next_fire_at=at,
            billing=billing.get(a.organization_id),
            grace_days=settings.BILLING_PAST_DUE_GRACE_DAYS,
        )
        for a, at in found
    }
    from agents.controllers import AgentStartFailed, agent_start

    online_seconds = settings.AGENT_ONLINE_SECONDS
    chosen = agents_to_prewarm(candidates.values(), now=now, online_seconds=online_seconds)
    for agent_id in chosen:
        agent, next_fire_at = agents[agent_id], candidates[agent_id].next_fire_at
        if not budget.fits("agent_start"):
            log_event(log, logging.INFO, "agent_prewarm_deferred", agent=agent.slug)
            continue
        started = budget.elapsed()
        try:
            agent_start(agent=agent, now=now)
        except Exception as exc:
            if not isinstance(exc, AgentStartFailed):  # a controller bug must not take the tick
                log_event(log, logging.ERROR, "agent_start_crashed", exc_info=True, agent=agent_id)
            message = str(exc) if isinstance(exc, AgentStartFailed) else type(exc).__name__
            log_event(log, logging.WARNING, "agent_prewarm_failed", agent=agent.slug, error=message)
            report.error(
                None, ErrorCode.AGENT_START_FAILED, f"pre-warm of agent {agent.slug}: {message}"
            )
            continue
        finally:
            budget.took("agent_start", since=started)
        if agent.start_requested_at != now:
            continue  # agent_start found it online or already starting: not started by us
        report.prewarmed.append(
            Prewarmed(
                agent_id=agent.id,
                agent_name=agent.name,
                next_fire_at=next_fire_at,
                prewarm_minutes=agent.prewarm_minutes,
            )
        )
        log_event(
            log,
            logging.INFO,
            "agent_prewarmed",
            agent=agent.slug,
            next_fire_at=iso_z(next_fire_at),
            prewarm_minutes=agent.prewarm_minutes,
        )


def _fail_jobs_of_unstartable_agents(owed: _Dispatched, failed: dict[UUID, str], *, now) -> None:
    """Their message will never be sent: fail them now, freeing the concurrency slot."""
    for job, _s, _ in owed.jobs:
        if job["agent_id"] in failed:
            job_expire_unclaimed(
                job_id=job["id"], now=now, reason=f"agent start failed: {failed[job['agent_id']]}"
            )


def _triggered(
    s: Schedule, job: dict, notes: list[str], *, dry_run: bool, fire_at: datetime | None = None
) -> Triggered:
    return Triggered(
        schedule_id=s.id,
        schedule_name=s.name,
        job_id=None if dry_run else job["id"],
        scheduled_for=job["scheduled_for"],
        agent_id=s.agent_id,
        notes=notes,
        fire_at=fire_at,
    )


def _republish_owed(*, now: datetime, report: Report) -> None:
    """Pending jobs whose publish failed and retries that are due get their message now."""
    try:
        result = jobs_republish_due(now=now)
    except Exception:
        log_event(log, logging.ERROR, "republish_failed", exc_info=True)
        return
    if result.failed:
        report.error(
            None,
            ErrorCode.DISPATCH_FAILED,
            f"{len(result.failed)} owed job message(s) could not be republished",
        )


def _record_health(*, now: datetime) -> None:
    """A tick that found the executor lease held: one more lock error in a row."""
    updated = TickHeartbeat.objects.filter(name=TICK_LEASE).update(
        consecutive_lock_errors=F("consecutive_lock_errors") + 1
    )
    if not updated:
        TickHeartbeat.objects.get_or_create(
            name=TICK_LEASE, defaults={"consecutive_lock_errors": 1}
        )


def _heartbeat_statement(*, now: datetime) -> tuple[str, list[Any]]:
    """A tick that ran: its heartbeat, one upsert, first tick or not (bulk_create would add a
    transaction of its own outside one); run_tick commits it with the lease's release."""
    return (
        f"INSERT INTO {TickHeartbeat._meta.db_table} "
        "(name, last_success_at, consecutive_lock_errors) VALUES (%s, %s, 0) "
        "ON CONFLICT (name) DO UPDATE SET last_success_at = excluded.last_success_at, "
        "consecutive_lock_errors = 0",
        [TICK_LEASE, now],
    )
