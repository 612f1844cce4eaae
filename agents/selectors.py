"""Reads for agents and jobs: jobs as lists show them, the agent a command names, a token's
agent, and the watchdog's sets. Each watchdog set is one query over the small active part of the jobs table (the partial
index `job_active_by_schedule` and `job_status_retry_at` cover the status filters)."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from agents.dispatch import PENDING_REPUBLISH_AFTER_SECONDS
from agents.joblog import START, attempt_header, format_cursor
from agents.models import (
    FINISHED_JOB_STATUSES,
    Agent,
    AgentStatus,
    Job,
    JobLogChunk,
    JobStatus,
    hash_token,
    start_deadline_passed,
)
from agents.readiness import START_GRACE, online_q
from agents.services import WAITING_JOB_STATUSES


def job_list() -> QuerySet[Job]:
    """Jobs as lists show them (the jobs API, a schedule's jobs in the API and the admin):
    newest first, without the heavy text columns (script source, log, variables)."""
    return Job.objects.defer("log", "variables").order_by("-created_at", "-id")


# Chunks in one answer of the live log; a reader asks again with `next` for the rest.
LOG_CHUNKS_PER_ANSWER = 200


@dataclass(frozen=True)
class LogSince:
    log: str
    next: str
    complete: bool


def job_log_since(job: Job, after: tuple[int, int] | None) -> LogSince:
    """The live log of `job` (loaded with status and log) after the cursor position `after`
    (None: from the start), in one query. `complete` once the job is finished and nothing is
    left to read.

    A job with no chunks at all (its log was stored before chunks existed) answers its stored
    log whole to a reader starting from the start; its `next` is the start, where no chunk
    will follow a finished job."""
    attempt, seq = after or START
    chunks = list(
        JobLogChunk.objects.filter(job_id=job.id)
        .filter(Q(attempt__gt=attempt) | Q(attempt=attempt, seq__gt=seq))
        .order_by("attempt", "seq")
        .values_list("attempt", "seq", "text")[:LOG_CHUNKS_PER_ANSWER]
    )
    finished = job.status in FINISHED_JOB_STATUSES
    if not chunks:
        text = job.log if after is None else ""
        return LogSince(text, format_cursor((attempt, seq)), finished)
    parts = []
    for chunk_attempt, chunk_seq, text in chunks:
        if chunk_seq == 1 and chunk_attempt > 1:
            parts.append(attempt_header(chunk_attempt))
        parts.append(text)
    last = chunks[-1][:2]
    return LogSince(
        "".join(parts), format_cursor(last), finished and len(chunks) < LOG_CHUNKS_PER_ANSWER
    )


class AgentRefError(Exception):
    pass


def agent_get_by_ref(ref: str) -> Agent:
    """The agent named by an id or a slug (slugs are unique per organization only)."""
    try:
        return Agent.objects.get(id=uuid.UUID(ref))
    except (ValueError, Agent.DoesNotExist):
        pass
    matches = list(Agent.objects.filter(slug=ref).select_related("organization")[:10])
    if not matches:
        raise AgentRefError(f"No agent with id or slug {ref!r}.")
    if len(matches) > 1:
        ids = ", ".join(f"{a.id} ({a.organization.slug})" for a in matches)
        raise AgentRefError(
            f"Slug {ref!r} names agents in several organizations; use an id: {ids}."
        )
    return matches[0]


def agent_for_token(*, agent_id, token: str) -> Agent | None:
    """The agent if `token` is its token (constant-time comparison of the hashes)."""
    if not token:
        return None
    try:
        agent = Agent.objects.get(id=agent_id)
    except (Agent.DoesNotExist, ValueError, TypeError):
        return None
    if not agent.token_hash or not hmac.compare_digest(hash_token(token), agent.token_hash):
        return None
    return agent


def jobs_past_deadline(*, now: datetime, grace: timedelta) -> list[tuple[uuid.UUID, int]]:
    """(id, attempt) of running jobs whose deadline passed more than `grace` ago: their runner
    should have killed them at the deadline and did not report."""
    return list(
        Job.objects.filter(status=JobStatus.RUNNING, deadline_at__lt=now - grace)
        .order_by("deadline_at")
        .values_list("id", "attempt")
    )


def jobs_past_start_deadline(*, now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """What agents.services.jobs_cancel_past_start_deadline would cancel now (dry runs)."""
    return list(
        Job.objects.filter(start_deadline_passed(now))
        .order_by("start_deadline_at")
        .values_list("id", flat=True)[:limit]
    )


@dataclass(frozen=True)
class StaleJob:
    id: uuid.UUID
    attempt: int
    max_attempts: int
    cancel_requested: bool


def jobs_running_stale(*, now: datetime, online_seconds: int) -> list[StaleJob]:
    """Running jobs nobody is looking after: the job's own heartbeat is stale, or its agent's
    is (an agent killed with -9 never says so; only the silence tells)."""
    cutoff = now - timedelta(seconds=online_seconds)
    rows = (
        Job.objects.filter(status=JobStatus.RUNNING)
        .annotate(beat=Coalesce("heartbeat_at", "started_at"))
        .filter(
            Q(beat__lt=cutoff)
            | Q(beat__isnull=True)
            | Q(agent__isnull=True)
            | Q(agent__last_heartbeat_at__lt=cutoff)
        )
        .order_by("started_at")
        .values_list("id", "attempt", "max_attempts", "cancel_requested_at")
    )
    return [StaleJob(i, a, m, c is not None) for i, a, m, c in rows]


def jobs_unclaimed(
    *, now: datetime, pickup_timeout: timedelta, online_seconds: int
) -> list[tuple[uuid.UUID, str]]:
    """(id, reason) of jobs no agent will run: waiting for an agent that was deleted, or
    `queued` for an agent that has not been alive for the whole pickup timeout (SPEC §10).

    The timeout counts continuous time since the later of "the job was queued" and "its agent
    was last alive" — a heartbeat keeps an agent alive for `online_seconds`; `starting` counts
    as alive for START_GRACE after the start request. Waiting for a free slot on a live, busy
    agent is not a fault: such a job is never expired, however long it waits.
    """
    stamp: DateTimeField[datetime, datetime] = DateTimeField()
    alive_until = Greatest(
        F("queued_at"),
        Coalesce(
            ExpressionWrapper(
                F("agent__last_heartbeat_at") + timedelta(seconds=online_seconds),
                output_field=stamp,
            ),
            F("queued_at"),
        ),
        Coalesce(
            Case(
                When(
                    agent__status=AgentStatus.STARTING,
                    then=ExpressionWrapper(
                        F("agent__start_requested_at") + START_GRACE, output_field=stamp
                    ),
                ),
                output_field=stamp,
            ),
            F("queued_at"),
        ),
        output_field=stamp,
    )
    offline = (
        Job.objects.filter(status=JobStatus.QUEUED, agent__isnull=False)
        .annotate(alive_until=alive_until)
        .filter(alive_until__lt=now - pickup_timeout)
        .values_list("id", flat=True)
    )
    deleted = Job.objects.filter(status__in=WAITING_JOB_STATUSES, agent__isnull=True).values_list(
        "id", flat=True
    )
    minutes = pickup_timeout.total_seconds() / 60
    return [
        *((job_id, f"Its agent was not alive for {minutes:g} minutes while it waited.")
          for job_id in offline),
        *((job_id, "Its agent was deleted.") for job_id in deleted),
    ]  # fmt: skip


def jobs_due_for_republish(*, now: datetime, limit: int = 1000) -> list[uuid.UUID]:
    """What agents.dispatch.jobs_republish_due would publish now (for dry runs): `pending`
    older than its publish window, `retrying` whose retry_at has passed."""
    stale_pending = Q(
        status=JobStatus.PENDING,
        created_at__lt=now - timedelta(seconds=PENDING_REPUBLISH_AFTER_SECONDS),
    )
    due_retry = Q(status=JobStatus.RETRYING, retry_at__lte=now)
    return list(
        Job.objects.filter(stale_pending | due_retry, agent__isnull=False)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )


def jobs_queued_for_free_agents(
    *, now: datetime, online_seconds: int, queued_before: datetime, limit: int = 1000
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(job id, agent id) of `queued` jobs that an alive agent with a free slot has not taken
    although they were queued before `queued_before` — at most as many per agent as it has free
    slots, oldest first. A live agent with a free slot takes a message at once, so such a job's
    message has probably vanished (a Redis restarted without persistence, or flushed); the
    caller checks the agent's queue before publishing again. Two queries."""
    alive = Q(agent__last_heartbeat_at__gte=now - timedelta(seconds=online_seconds)) & Q(
        agent__status__in=[AgentStatus.ONLINE, AgentStatus.STARTING]
    )
    rows = list(
        Job.objects.filter(alive, status=JobStatus.QUEUED, queued_at__lt=queued_before)
        .order_by("queued_at", "id")
        .values_list("id", "agent_id", "agent__capacity")[:limit]
    )
    if not rows:
        return []
    busy = dict(
        Job.objects.filter(
            agent_id__in={agent_id for _, agent_id, _ in rows}, status=JobStatus.RUNNING
        )
        .order_by()
        .values("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    taken: dict[uuid.UUID, int] = {}
    picked = []
    for job_id, agent_id, capacity in rows:
        free = capacity - busy.get(agent_id, 0) - taken.get(agent_id, 0)
        if free > 0:
            picked.append((job_id, agent_id))
            taken[agent_id] = taken.get(agent_id, 0) + 1
    return picked


# --------------------------------------------------------------------- metrics (scrape time)

# Held, pending, queued, running, retrying: what the jobs gauge reports, 0 when none.
UNFINISHED_JOB_STATUSES = tuple(s for s in JobStatus if s not in FINISHED_JOB_STATUSES)


@dataclass(frozen=True)
class JobCounts:
    by_status: dict[str, int]  # every unfinished status
    oldest_waiting_since: datetime | None  # the oldest pending or queued job's wait start


def job_counts() -> JobCounts:
    """Unfinished jobs by status, and since when the oldest pending or queued job has waited
    for an agent (since it was queued; created, if never published): one grouped query over
    the small unfinished part of the table (`job_status_retry_at` leads with the status).
    Finished jobs, the vast majority, are not counted here: the outcome counter has them."""
    rows = (
        Job.objects.filter(status__in=UNFINISHED_JOB_STATUSES)
        .order_by()
        .values("status")
        .annotate(n=Count("id"), since=Min(Coalesce("queued_at", "created_at")))
        .values_list("status", "n", "since")
    )
    by_status: dict[str, int] = {str(status): 0 for status in UNFINISHED_JOB_STATUSES}
    waiting = []
    for status, n, since in rows:
        by_status[status] = n
        if status in (JobStatus.PENDING, JobStatus.QUEUED):
            waiting.append(since)
    return JobCounts(
        by_status=by_status,
        oldest_waiting_since=min(waiting, default=None),
    )


def agents_online_count(*, now: datetime, online_seconds: int) -> int:
    """How many agents are online (agents.readiness.online_q): one query."""
    return Agent.objects.filter(online_q(now=now, online_seconds=online_seconds)).count()
