"""Writes to agents and jobs: every state change of a job or an agent is one function here.

Each job transition is a compare-and-swap (`filter(id=…, status=<expected>).update(…)`; one row
updated = this caller won), so the runner, the watchdog and the API can race on the same row and
exactly one of them decides. A transition that wins sends `job_status_changed` after commit
(schedules keeps `lastRunStatus` following its latest job from it), and one that ends a job is
counted in agents.metrics then too: counted where the outcome is recorded, never when its
transaction rolls back.

Time is passed in (`now`), never read here.
"""

from __future__ import annotations

import enum
import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, ProtectedError, Q, Value, When
from django.db.models.functions import Cast

from agents import broker, metrics
from agents.joblog import live_chunk, log_append
from agents.models import (
    START_DEADLINE_MESSAGE,
    Agent,
    AgentStatus,
    ControlPlanePulse,
    ErrorKind,
    Job,
    JobAttempt,
    JobLogChunk,
    JobStatus,
    Runtime,
    Script,
    ScriptVersion,
    Trigger,
    hash_token,
    start_deadline_passed,
)
from agents.outcomes import AttemptReport, Outcome, attempt_outcome
from agents.runtime.logformat import log_event
from agents.signals import job_status_changed, jobs_settled
from billing.audit import SECRET_PLACEHOLDER, Actor, audit_record
from billing.models import AuditAction, AuditObjectType
from vault import crypto

log = logging.getLogger(__name__)

# States a job waits in before a runner claims it; canceling one of these needs no process kill.
WAITING_JOB_STATUSES = (JobStatus.HELD, JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RETRYING)


# --------------------------------------------------------------------------------- signal


def _announce(job_ids: list, *, settled: bool = False, ran: bool = False) -> None:
    """After commit, tell listeners the jobs' status changed, and count the jobs this transition
    ended (`settled`: its status is final) in the metrics — `ran`: it ended a running attempt,
    whose run time is observed too. One fetch, only if anyone listens or counts. Settled jobs
    are also announced now, inside the caller's transaction (`jobs_settled`)."""

    def send() -> None:
        listening = job_status_changed.has_listeners(Job)
        if not (listening or settled):
            return
        jobs = list(Job.objects.filter(id__in=job_ids))
        if settled:
            metrics.observe_settled(jobs, ran=ran)
        if not listening:
            return
        for job in jobs:
            try:
                job_status_changed.send(sender=Job, job=job)
            except Exception:  # a listener's bug must not undo or hide the transition
                log_event(
                    log,
                    logging.ERROR,
                    "job_status_changed_listener_failed",
                    exc_info=True,
                    job=job.id,
                )

    if settled and jobs_settled.has_listeners(Job):
        try:
            with transaction.atomic():  # a savepoint: a listener's failure leaves the change be
                jobs_settled.send(sender=Job, job_ids=list(job_ids))
        except Exception:
            log_event(log, logging.ERROR, "jobs_settled_listener_failed", exc_info=True)
    transaction.on_commit(send)


# --------------------------------------------------------------------------------- claim


class ClaimRefused(enum.Enum):
    NOT_FOUND = "not_found"  # no such job for this agent (404)
    NOT_CLAIMABLE = "not_claimable"  # claimed already, finished, canceled, not yet due (409)
    # Past its start deadline before its first claim: canceled here, never run (409).
    START_DEADLINE_EXCEEDED = "start_deadline_exceeded"


def job_claim(
    *, job_id, agent_id, now: datetime, hostname: str, max_runtime_cap_seconds: int = 0
) -> Job | ClaimRefused:
    """Take the job for one attempt on behalf of agent `agent_id` — the compare-and-swap of
    SPEC §7: `pending|queued|retrying` -> `running`, this agent's job only, the current attempt.

    PENDING is claimable on purpose: the dispatcher publishes first and marks the job `queued`
    after (agents/dispatch.py), so a fast agent can see its message before that write lands.
    A `retrying` job whose `retry_at` is still ahead is not claimable: a stray early message
    must not shorten the retry delay. A job past its start deadline before its first claim is
    not claimable either: it is canceled here (the same change as the watchdog's), so a message
    picked up late never starts it.
    """
    job = (
        Job.objects.filter(id=job_id, agent_id=agent_id)
        .only("id", "attempt", "max_runtime_minutes")
        .first()
    )
    if job is None:
        return ClaimRefused.NOT_FOUND
    runtime = timedelta(minutes=job.max_runtime_minutes)
    if max_runtime_cap_seconds:
        runtime = min(runtime, timedelta(seconds=max_runtime_cap_seconds))
    with transaction.atomic():
        won = (
            Job.objects.filter(
                id=job_id,
                agent_id=agent_id,
                attempt=job.attempt,
                status__in=[JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RETRYING],
            )
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
            .exclude(start_deadline_passed(now))
            .update(
                status=JobStatus.RUNNING,
                started_at=now,
                heartbeat_at=now,
                deadline_at=now + runtime,
                retry_at=None,
                finished_at=None,
                worker_hostname=hostname[:200],
                log="",
                log_held="",
            )
        )
        if not won:
            if _cancel_past_start_deadline(
                Job.objects.filter(id=job_id, agent_id=agent_id), now=now, ids=[job_id]
            ):
                return ClaimRefused.START_DEADLINE_EXCEEDED
            return ClaimRefused.NOT_CLAIMABLE
        JobAttempt.objects.create(
            job_id=job_id,
            number=job.attempt,
            status=JobStatus.RUNNING,
            started_at=now,
            worker_hostname=hostname[:200],
        )
        _announce([job_id])
    return Job.objects.select_related("code").get(id=job_id)


# --------------------------------------------------------------------------------- heartbeat


@dataclass(frozen=True)
class HeartbeatAnswer:
    cancel: list[uuid.UUID]  # still this runner's, a cancel was requested: kill them
    drop: list[uuid.UUID]  # no longer this runner's attempt: kill them, report nothing


def jobs_heartbeat(
    *, agent_id, running: list[tuple[uuid.UUID, int]], now: datetime
) -> HeartbeatAnswer:
    """The runner of agent `agent_id` says it runs these (job, attempt) pairs: touch the ones
    that are really its running attempts, and say which to cancel and which to drop.

    Two queries whatever the count. Matching on the attempt keeps a runner that was given up
    on (declared lost, retried elsewhere) from keeping the new attempt alive.
    """
    if not running:
        return HeartbeatAnswer(cancel=[], drop=[])
    reported = dict(running)
    rows = Job.objects.filter(
        id__in=list(reported), agent_id=agent_id, status=JobStatus.RUNNING
    ).values_list("id", "attempt", "cancel_requested_at")
    mine = [(job_id, attempt, c) for job_id, attempt, c in rows if reported[job_id] == attempt]
    if mine:
        pairs = Q()
        for job_id, attempt, _ in mine:
            pairs |= Q(id=job_id, attempt=attempt)
        Job.objects.filter(pairs, status=JobStatus.RUNNING).update(heartbeat_at=now)
    ours = {job_id for job_id, _, _ in mine}
    return HeartbeatAnswer(
        cancel=[job_id for job_id, _, canceled in mine if canceled is not None],
        drop=[job_id for job_id in reported if job_id not in ours],
    )


# --------------------------------------------------------------------------------- live log


class NotThisAgents(Exception):
    """The job does not exist or belongs to another agent (the API answers 404)."""


def job_log_append(
    *, job_id, agent_id, attempt: int, chunk: str, redact, max_chars: int, final: bool = False
) -> bool:
    """Append a redacted chunk to the running attempt's log, bounded (agents.joblog), and store
    it as the next live chunk (JobLogChunk). False when the attempt is no longer running on
    this agent; NotThisAgents for another's job.

    `redact(organization_id, vault_keys)` returns the job's vault.redaction.Redactor. The raw
    end of the output that might begin a secret waits, encrypted, in Job.log_held until the
    next chunk; `final` (the attempt's end) lets it out, redacted as it is."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update()
            .filter(id=job_id, agent_id=agent_id)
            .only("id", "status", "attempt", "log", "log_held", "organization_id", "vault_keys")
            .first()
        )
        if job is None:
            raise NotThisAgents(job_id)
        if job.status != JobStatus.RUNNING or job.attempt != attempt:
            return False
        if not chunk and not job.log_held:
            return True
        redactor = redact(job.organization_id, list(job.vault_keys or []))
        raw = (crypto.decrypt(job.log_held) if job.log_held else "") + chunk
        text, held = (redactor(raw), "") if final else redactor.split_ready(raw)
        job.log = log_append(job.log, text, max_chars=max_chars)
        job.log_held = crypto.encrypt(held) if held else ""
        job.save(update_fields=["log", "log_held"])
        _store_live_chunk(job.id, attempt, text, max_chars=max_chars)
    return True


def _store_live_chunk(job_id, attempt: int, text: str, *, max_chars: int) -> None:
    last = (
        JobLogChunk.objects.filter(job_id=job_id, attempt=attempt)
        .order_by("-seq")
        .values_list("seq", "end")
        .first()
    )
    seq, stored = last or (0, 0)
    piece = live_chunk(text, stored=stored, max_chars=max_chars)
    if piece:
        JobLogChunk.objects.create(
            job_id=job_id, attempt=attempt, seq=seq + 1, text=piece, end=stored + len(piece)
        )


# --------------------------------------------------------------------------------- outcomes


def job_report_finish(
    *, job_id, agent_id, attempt: int, report: AttemptReport, now: datetime, redact
) -> Outcome | None:
    """The runner of agent `agent_id` says how attempt `attempt` ended; the control plane
    decides the outcome (agents.outcomes) and records it. None when the attempt was no longer
    the runner's (the watchdog decided first); NotThisAgents for another agent's job. The
    agent's own words (a start error) are redacted like its log (`redact`, see job_log_append)."""
    job = Job.objects.filter(id=job_id, agent_id=agent_id).first()
    if job is None:
        raise NotThisAgents(job_id)
    if job.status != JobStatus.RUNNING or job.attempt != attempt:
        return None
    if job.log_held:  # the attempt is over: what was held back is no longer a secret's start
        job_log_append(
            job_id=job_id,
            agent_id=agent_id,
            attempt=attempt,
            chunk="",
            redact=redact,
            max_chars=settings.JOB_LOG_MAX_BYTES,
            final=True,
        )
        job.refresh_from_db(fields=["log", "log_held"])
    if report.error:
        error = redact(job.organization_id, list(job.vault_keys or []))(report.error)
        report = replace(report, error=error)
    # job_claim sets both together; a job without them had no deadline to run to.
    deadline, started = job.deadline_at, job.started_at
    runtime = (deadline - started).total_seconds() if deadline and started else 0.0
    outcome = attempt_outcome(
        report,
        attempt=attempt,
        max_attempts=job.max_attempts,
        cancel_requested=job.cancel_requested_at is not None,
        runtime_seconds=runtime,
    )
    won = job_finish_attempt(job=job, attempt=attempt, now=now, outcome=outcome, log_text=job.log)
    return outcome if won else None


def job_finish_attempt(
    *, job: Job, attempt: int, now: datetime, outcome: Outcome, log_text: str
) -> bool:
    """Record how attempt `attempt` ended; move the job to its next status if it is still ours.

    Returns False when the job had already been taken away from this attempt (watchdog): the
    attempt's log is still kept, the job is left as the watchdog set it.
    """
    job_fields: dict = {
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "error_kind": outcome.error_kind,
        "error_message": outcome.error_message,
        "log": log_text,
        "heartbeat_at": now,
    }
    if outcome.retry:
        # Retries live in the database: the tick/watchdog republishes once retry_at passes.
        job_fields.update(
            retry_at=now + timedelta(seconds=job.retry_delay_seconds),
            attempt=F("attempt") + 1,
            finished_at=None,
        )
    else:
        job_fields.update(retry_at=None, finished_at=now)
    with transaction.atomic():
        won = Job.objects.filter(id=job.id, status=JobStatus.RUNNING, attempt=attempt).update(
            **job_fields
        )
        attempt_row = JobAttempt.objects.filter(job_id=job.id, number=attempt)
        if won:
            attempt_row.update(
                status=outcome.attempt_status,
                finished_at=now,
                exit_code=outcome.exit_code,
                error_kind=outcome.error_kind,
                error_message=outcome.error_message,
                log=log_text,
            )
            _announce([job.id], settled=not outcome.retry, ran=True)
        else:
            # The watchdog already closed this attempt (lost / timed out); keep what we saw.
            attempt_row.update(log=log_text, exit_code=outcome.exit_code)
    return bool(won)


# --------------------------------------------------------------------------------- cancel


class JobNotCancelable(Exception):
    def __init__(self, status: str):
        self.status = status
        super().__init__(
            f"The job is already {status}; only pending, queued, retrying or running jobs "
            "can be canceled."
        )


class CancelResult(enum.Enum):
    CANCELED = "canceled"  # it had not started: canceled at once
    REQUESTED = "requested"  # it is running: its runner kills the process tree and marks it


def _audit_cancel(job: Job, actor: Actor | None, now: datetime, note: str) -> None:
    audit_record(
        actor=actor,
        organization_id=job.organization_id,
        action=AuditAction.CANCELED,
        object_type=AuditObjectType.JOB,
        object_id=job.id,
        object_label=str(job.id)[:8],
        now=now,
        note=note,
    )


def job_cancel(*, job: Job, now: datetime, actor: Actor | None = None) -> CancelResult:
    """Cancel a job. A waiting job is canceled at once (a message still in the queue is dropped
    by the runner's claim); a running job gets `cancel_requested_at`, which its runner sees on
    its next heartbeat. Raises JobNotCancelable for a finished job. The audit trail records
    who, with the cancel that took effect (not an idempotent repeat)."""
    for _ in range(3):  # the job can move between our two compare-and-swaps; re-decide
        with transaction.atomic():
            if Job.objects.filter(id=job.id, status__in=WAITING_JOB_STATUSES).update(
                status=JobStatus.CANCELED,
                cancel_requested_at=now,
                finished_at=now,
                retry_at=None,
                error_kind=ErrorKind.CANCELED,
                error_message="Canceled before it started.",
            ):
                _audit_cancel(job, actor, now, "canceled before it started")
                _announce([job.id], settled=True)
                return CancelResult.CANCELED
        running = Job.objects.filter(id=job.id, status=JobStatus.RUNNING)
        with transaction.atomic():
            if running.filter(cancel_requested_at__isnull=True).update(cancel_requested_at=now):
                _audit_cancel(job, actor, now, "cancel requested while running")
                return CancelResult.REQUESTED
        if running.exists():
            return CancelResult.REQUESTED  # already requested: idempotent
        status = Job.objects.filter(id=job.id).values_list("status", flat=True).first()
        if status is None or status not in (*WAITING_JOB_STATUSES, JobStatus.RUNNING):
            raise JobNotCancelable(status or "deleted")
    raise JobNotCancelable(JobStatus.RUNNING)  # pragma: no cover — a job flapping 3 times


# ------------------------------------------------------------------- held jobs (SPEC §14)
# Set-based transitions for the tick's overlap policy and release of held occurrences: a batch
# of schedules costs a constant number of statements, each a compare-and-swap on the status.


@dataclass(frozen=True)
class ActiveCancel:
    canceled: list  # waiting jobs canceled at once
    requested: list  # running jobs given cancel_requested_at (their runner kills them)


def jobs_cancel_active(*, messages: dict, now: datetime) -> ActiveCancel:
    """job_cancel for every active job of the schedules in `messages` (schedule id -> error
    message), in three statements: a waiting job (pending/queued/retrying) is canceled at once;
    a running one gets `cancel_requested_at`, which its runner sees at its next heartbeat and
    answers by killing the process tree. Held jobs are not touched."""
    if not messages:
        return ActiveCancel(canceled=[], requested=[])
    by_schedule = Case(
        *(When(schedule_id=pk, then=Value(message)) for pk, message in messages.items()),
        default=Value("Canceled before it started."),
    )
    waiting = [st for st in WAITING_JOB_STATUSES if st != JobStatus.HELD]
    ids = list(
        Job.objects.filter(schedule_id__in=list(messages), status__in=waiting).values_list(
            "id", flat=True
        )
    )
    canceled = _cas_returning(
        Job.objects.filter(id__in=ids, status__in=waiting),
        status=JobStatus.CANCELED,
        cancel_requested_at=now,
        finished_at=now,
        retry_at=None,
        error_kind=ErrorKind.CANCELED,
        error_message=by_schedule,
    )
    requested = _cas_returning(
        Job.objects.filter(
            schedule_id__in=list(messages),
            status=JobStatus.RUNNING,
            cancel_requested_at__isnull=True,
        ),
        cancel_requested_at=now,
    )
    _announce(canceled, settled=True)
    return ActiveCancel(canceled=canceled, requested=requested)


def jobs_supersede_held(*, keep: dict, now: datetime) -> list:
    """Only the newest blocked occurrence waits: every held *scheduled* job of the schedules in
    `keep` (schedule id -> (the held job kept, message)) other than the kept one ends `canceled`,
    error kind `superseded`. Backfilled held jobs are not superseded: each was asked for. Never
    announced: a held job is not a run of the schedule until it is released."""
    if not keep:
        return []
    superseded = _cas_returning(
        Job.objects.filter(
            schedule_id__in=list(keep), status=JobStatus.HELD, trigger=Trigger.SCHEDULED
        ).exclude(id__in=[job_id for job_id, _ in keep.values()]),
        status=JobStatus.CANCELED,
        finished_at=now,
        error_kind=ErrorKind.SUPERSEDED,
        error_message=Case(
            *(When(schedule_id=pk, then=Value(msg)) for pk, (_, msg) in keep.items()),
            default=Value("Superseded by a newer blocked occurrence."),
        ),
    )
    if superseded:
        transaction.on_commit(
            lambda: metrics.observe_settled_unstarted(
                status=JobStatus.CANCELED, error_kind=ErrorKind.SUPERSEDED, count=len(superseded)
            )
        )
    return superseded


def jobs_release_held(*, job_ids: list, now: datetime) -> list:
    """Held -> queued, its message owed by the caller after commit (compare-and-swap: one
    canceled meanwhile stays canceled), unless past its start deadline (the watchdog cancels
    those). Returns the released ids."""
    if not job_ids:
        return []
    return _cas_returning(
        Job.objects.filter(id__in=job_ids, status=JobStatus.HELD).exclude(
            start_deadline_at__lt=now
        ),
        status=JobStatus.QUEUED,
        queued_at=now,
        celery_task_id=Cast("id", output_field=CharField()),
    )


def jobs_cancel_held(*, outcomes: dict, now: datetime) -> list:
    """Held jobs a gate refused at release (job id -> (error kind, message)) end `canceled`."""
    if not outcomes:
        return []
    canceled = _cas_returning(
        Job.objects.filter(id__in=list(outcomes), status=JobStatus.HELD),
        status=JobStatus.CANCELED,
        finished_at=now,
        error_kind=Case(*(When(id=pk, then=Value(k)) for pk, (k, _) in outcomes.items())),
        error_message=Case(*(When(id=pk, then=Value(m)) for pk, (_, m) in outcomes.items())),
    )
    _announce(canceled, settled=True)
    return canceled


def _cas_returning(jobs, **fields) -> list:
    """UPDATE … RETURNING id: which rows this compare-and-swap changed, in one statement
    (QuerySet.update only counts them)."""
    from django.db import connection
    from django.db.models.sql.subqueries import UpdateQuery

    query = jobs.query.chain(UpdateQuery)
    query.add_update_values(fields)
    compiler = query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # e.g. id__in=[]: nothing to change
        return []
    if not sql:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} RETURNING {connection.ops.quote_name(Job._meta.db_table)}.id", params
        )
        return [row[0] for row in cursor.fetchall()]


# --------------------------------------------------------------------------------- watchdog


def job_mark_timed_out(*, job_id, attempt: int, now: datetime) -> bool:
    """A running job past its deadline + grace whose runner did not close it (watchdog)."""
    message = "Exceeded its max runtime; its runner did not report back (watchdog)."
    with transaction.atomic():
        won = Job.objects.filter(id=job_id, status=JobStatus.RUNNING, attempt=attempt).update(
            status=JobStatus.TIMED_OUT,
            finished_at=now,
            error_kind=ErrorKind.TIMED_OUT,
            error_message=message,
        )
        if won:
            _close_attempt(job_id, attempt, now, JobStatus.TIMED_OUT, ErrorKind.TIMED_OUT, message)
            _announce([job_id], settled=True, ran=True)
    return bool(won)


def job_mark_lost(
    *, job_id, attempt: int, now: datetime, retry: bool, canceled: bool
) -> str | None:
    """A running job whose agent stopped heartbeating. A lost run counts as transient: retried
    at once (`retrying`, retry_at=now) while attempts remain. A job someone asked to cancel is
    `canceled` instead. Returns the new status, or None if someone else got there first."""
    if canceled:
        status, kind, message = (
            JobStatus.CANCELED,
            ErrorKind.CANCELED,
            "Canceled; its agent stopped heartbeating before it could confirm.",
        )
    else:
        status = JobStatus.RETRYING if retry else JobStatus.LOST
        kind = ErrorKind.LOST
        message = "Its agent stopped heartbeating (killed or disconnected)" + (
            "; retrying." if retry else "; no attempts left."
        )
    fields: dict = {"status": status, "error_kind": kind, "error_message": message}
    if status == JobStatus.RETRYING:
        fields.update(retry_at=now, attempt=F("attempt") + 1)
    else:
        fields.update(finished_at=now)
    with transaction.atomic():
        won = Job.objects.filter(id=job_id, status=JobStatus.RUNNING, attempt=attempt).update(
            **fields
        )
        if won:
            _close_attempt(job_id, attempt, now, JobStatus.LOST, ErrorKind.LOST, message)
            _announce([job_id], settled=status != JobStatus.RETRYING, ran=True)
    return status if won else None


def jobs_cancel_past_start_deadline(*, now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """Cancel the jobs that could not start by their start deadline (SPEC §14; watchdog):
    `canceled`, error kind `start_deadline_exceeded`. At most `limit`, oldest deadline first;
    returns their ids. Two queries whatever the count: the rows are chosen and locked
    (`FOR UPDATE SKIP LOCKED`: a claim racing on one is left to decide it), then canceled in
    one compare-and-swap filtered on the same condition."""
    with transaction.atomic():
        ids = list(
            Job.objects.filter(start_deadline_passed(now))
            .order_by("start_deadline_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        # The rows are locked under the same condition: every one of them is canceled.
        _cancel_past_start_deadline(Job.objects.filter(id__in=ids), now=now, ids=ids)
    return ids


def _cancel_past_start_deadline(jobs, *, now: datetime, ids: list | None = None) -> int:
    """The one write of the start deadline: those of `jobs` still past it (the condition is the
    compare-and-swap) become `canceled`; returns how many did. `ids` (the jobs' ids, when the
    caller has them) are announced after commit."""
    won = jobs.filter(start_deadline_passed(now)).update(
        status=JobStatus.CANCELED,
        finished_at=now,
        retry_at=None,
        error_kind=ErrorKind.START_DEADLINE_EXCEEDED,
        error_message=START_DEADLINE_MESSAGE,
    )
    if won and ids:
        _announce(ids, settled=True)
    return won


def job_expire_unclaimed(*, job_id, now: datetime, reason: str) -> bool:
    """A job no agent picked up within the pickup timeout (or whose agent is gone): `failed`
    with agent_unavailable, which frees its schedule's concurrency slot."""
    with transaction.atomic():
        won = Job.objects.filter(id=job_id, status__in=WAITING_JOB_STATUSES).update(
            status=JobStatus.FAILED,
            finished_at=now,
            retry_at=None,
            error_kind=ErrorKind.AGENT_UNAVAILABLE,
            error_message=reason,
        )
        if won:
            _announce([job_id], settled=True)
    return bool(won)


def _close_attempt(job_id, number: int, now: datetime, status: str, kind: str, message: str):
    JobAttempt.objects.filter(job_id=job_id, number=number, status=JobStatus.RUNNING).update(
        status=status, finished_at=now, error_kind=kind, error_message=message
    )


# --------------------------------------------------------------------------------- pulse


def control_plane_pulse(*, now: datetime, max_gap: timedelta) -> datetime:
    """Record that the control plane is up at `now`; returns since when it has been up without
    a gap longer than `max_gap` (a longer silence — the database down, the watchdog stopped —
    starts the count again). One row, one locked read-and-write."""
    with transaction.atomic():
        pulse = ControlPlanePulse.objects.select_for_update().filter(id=1).first()
        if pulse is None:
            pulse = ControlPlanePulse(id=1, last_seen_at=now, up_since=now)
        elif now - pulse.last_seen_at > max_gap:
            pulse.up_since = now
        pulse.last_seen_at = max(now, pulse.last_seen_at)
        pulse.save()
    return pulse.up_since


def control_plane_up_since(*, now: datetime, max_gap: timedelta) -> datetime:
    """What control_plane_pulse would answer, without writing (dry runs)."""
    pulse = ControlPlanePulse.objects.filter(id=1).first()
    if pulse is None or now - pulse.last_seen_at > max_gap:
        return now
    return pulse.up_since


# --------------------------------------------------------------------------------- agents


def agent_heartbeat(
    *, agent_id, now: datetime, hostname: str | None = None, stopped: bool = False
) -> bool:
    """The agent's runtime is alive (`online`), or says it has stopped (`stopped`, its stop
    request fulfilled). A disabled agent stays disabled; its heartbeat is still recorded.
    False when the agent row no longer exists."""
    fields: dict = {
        "last_heartbeat_at": now,
        "status": Case(
            When(status=AgentStatus.DISABLED, then=Value(AgentStatus.DISABLED)),
            default=Value(AgentStatus.STOPPED if stopped else AgentStatus.ONLINE),
        ),
    }
    if stopped:
        fields["stop_requested_at"] = None
    if hostname is not None:
        fields["hostname"] = hostname[:200]
    return bool(Agent.objects.filter(id=agent_id).update(**fields))


def agent_mark_stopped(*, agent_id) -> bool:
    """Nothing runs for the agent (never started, killed without a trace): record `stopped`."""
    return bool(
        Agent.objects.filter(id=agent_id).update(
            stop_requested_at=None,
            status=Case(
                When(status=AgentStatus.DISABLED, then=Value(AgentStatus.DISABLED)),
                default=Value(AgentStatus.STOPPED),
            ),
        )
    )


def agent_request_stop(*, agent_id, now: datetime) -> bool:
    """Ask the agent's runtime to stop: its next heartbeat answers `stop` and it shuts down
    gracefully (running jobs finish). The control plane never signals a process itself."""
    return bool(Agent.objects.filter(id=agent_id).update(stop_requested_at=now))


def agent_mark_starting(*, agent_id, now: datetime, grace: timedelta) -> bool:
    """Claim the right to start the agent: False when a start was requested less than `grace`
    ago (another tick or an operator is already starting it) or the agent is disabled."""
    return bool(
        Agent.objects.filter(id=agent_id)
        .exclude(status=AgentStatus.DISABLED)
        .exclude(status=AgentStatus.STARTING, start_requested_at__gt=now - grace)
        .update(status=AgentStatus.STARTING, start_requested_at=now, stop_requested_at=None)
    )


def agent_start_failed(*, agent_id, now: datetime, previous_status: str) -> None:
    """Undo agent_mark_starting after a failed start, so the next tick may try again."""
    Agent.objects.filter(id=agent_id, status=AgentStatus.STARTING, start_requested_at=now).update(
        status=previous_status if previous_status != AgentStatus.STARTING else AgentStatus.OFFLINE,
        start_requested_at=None,
    )


def agent_token_issue(*, agent_id, actor: Actor | None = None, now: datetime | None = None) -> str:
    """A fresh token for the agent (the previous one stops working at once, on the API and on
    the broker). Returns the plaintext, which is never stored: shown once, or handed to the
    runtime being started. With an `actor` (someone rotated it: API, admin) the audit trail
    records it at `now` (given with the actor: time is passed in) — the agent, never the token
    or its hash."""
    if actor is not None and now is None:
        raise ValueError("an audited token rotation needs `now`")
    token = secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    with transaction.atomic():
        if not Agent.objects.filter(id=agent_id).update(token_hash=token_hash):
            raise Agent.DoesNotExist(agent_id)
        if actor is not None:
            org_id, name = Agent.objects.values_list("organization_id", "name").get(id=agent_id)
            audit_record(
                actor=actor,
                organization_id=org_id,
                action=AuditAction.ROTATED,
                object_type=AuditObjectType.AGENT,
                object_id=agent_id,
                object_label=name,
                now=now,
                changes={"token": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]},
            )
    # After the write (no network I/O inside a transaction): the agent's own Redis user.
    broker.broker_user_provision(agent_id=agent_id, token_hash=token_hash)
    return token


# --------------------------------------------------------------------------------- agent & script CRUD


class InUse(Exception):
    """The object is still referenced (by schedules) and cannot be deleted."""


def _protected(exc: ProtectedError, what: str) -> InUse:
    count = len(exc.protected_objects)
    return InUse(f"This {what} is used by {count} schedule(s): delete or re-point them first.")


def agent_create(*, organization, **fields) -> tuple[Agent, str]:
    """Create an agent and its token; returns the plaintext token, which is never stored."""
    token = secrets.token_urlsafe(32)
    agent = Agent(organization=organization, token_hash=hash_token(token), **fields)
    agent.full_clean(exclude=["token_hash"])
    try:
        with transaction.atomic():
            agent.save()
    except IntegrityError:
        # Two creates with the same slug raced past the serializer's check.
        raise ValidationError(
            {"slug": ["An agent with this slug already exists in the organization."]}
        ) from None
    broker.broker_user_provision(agent_id=agent.id, token_hash=agent.token_hash)
    return agent, token


def agent_update(*, agent: Agent, **fields) -> Agent:
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.full_clean(exclude=["token_hash"])
    try:
        with transaction.atomic():
            # Only the edited columns: status/heartbeat are written by the agent meanwhile.
            agent.save(update_fields=list(fields))
    except IntegrityError:
        raise ValidationError(
            {"slug": ["An agent with this slug already exists in the organization."]}
        ) from None
    return agent


def agent_delete(*, agent: Agent) -> None:
    agent_id = agent.id
    try:
        with transaction.atomic():
            agent.delete()
    except ProtectedError as exc:
        raise _protected(exc, "agent") from None
    broker.broker_user_remove(agent_id=agent_id)


def script_create(*, organization, name: str, source: str, runtime: str = Runtime.PYTHON) -> Script:
    script = Script(organization=organization, name=name, source=source, runtime=runtime)
    script.full_clean()
    script.save()
    return script


@transaction.atomic
def script_update(*, script: Script, **fields) -> Script:
    """Edit a script; a change of source or runtime bumps the version.

    The row is locked so two concurrent edits each get their own version, and the bump is
    relative (F) rather than read-modify-write. Jobs already dispatched keep the source and
    version they snapshot, so a running job is never affected.
    """
    current = Script.objects.select_for_update().get(pk=script.pk)
    changed = any(
        name in fields and fields[name] != getattr(current, name) for name in ("source", "runtime")
    )
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean()
    update_fields = [*fields, "updated_at"]
    if changed:
        current.version = F("version") + 1
        update_fields.append("version")
    current.save(update_fields=update_fields)
    if changed:
        current.refresh_from_db(fields=["version"])
        ScriptVersion.record(current)  # the new version's code, stored once
    return current


def script_delete(*, script: Script) -> None:
    try:
        with transaction.atomic():
            script.delete()
    except ProtectedError as exc:
        raise _protected(exc, "script") from None


# --------------------------------------------------------------------------------- history


def jobs_purge_finished(
    *,
    finished_before: datetime,
    batch_size: int = 5000,
    max_batches: int | None = None,
    dry_run: bool = False,
) -> int:
    """Delete finished jobs (with their attempts) that ended before `finished_before` — by
    `finished_at`, or `created_at` for one that never recorded it; never an active job. Returns
    how many were deleted (a dry run: how many would be, deleting nothing).

    In batches of `batch_size`, one short transaction each, oldest first (index
    job_finished_purge); at most `max_batches` of them (None: until none is left). The batch's
    rows are locked (`FOR UPDATE SKIP LOCKED`) as they are chosen, so a transition racing on one
    waits for the delete or is skipped. The events that name a deleted job keep their own
    retention: Django sets their job to null (the schedules app's model, not imported here).
    """
    from django.db.models.functions import Coalesce

    from agents.models import FINISHED_JOB_STATUSES

    old = Job.objects.annotate(ended_at=Coalesce("finished_at", "created_at")).filter(
        status__in=FINISHED_JOB_STATUSES, ended_at__lt=finished_before
    )
    if dry_run:
        return old.count()
    deleted, batches = 0, 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            ids = list(
                old.order_by("ended_at")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:batch_size]
            )
            if ids:
                # only("id"): the delete collects the jobs before cascading; never their logs.
                Job.objects.filter(id__in=ids).only("id").delete()
        deleted, batches = deleted + len(ids), batches + 1
        if len(ids) < batch_size:
            break
    return deleted
