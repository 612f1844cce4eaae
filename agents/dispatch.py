"""Publishing jobs to their agents' queues: the one place a job message is sent.

Called after the dispatching transaction commits (never inside it: no network I/O while holding
row locks). A job is written `pending` first; only a successful publish moves it to `queued`, so
a broker outage leaves `pending` rows that the watchdog (or the next tick) republishes — nothing
is lost. The runner's compare-and-swap claim makes a duplicate message harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import redis
from django.conf import settings
from django.db.models import CharField
from django.db.models.functions import Cast

from agents.models import Job, JobStatus
from agents.runtime.logformat import log_event
from config.celery import app

log = logging.getLogger(__name__)

RUN_JOB_TASK = "agents.tasks.run_job"

# Messages per Redis pipeline round trip (kombu's Producer.batch).
PUBLISH_CHUNK = 500


def agent_queue(agent_id) -> str:
    """Each agent consumes only its own queue (see Agent.queue_name)."""
    return f"agent.{agent_id}"


@dataclass
class PublishResult:
    published: list[UUID] = field(default_factory=list)
    failed: dict[UUID, str] = field(default_factory=dict)  # job id -> error message


class _RunJobMessages:
    """Celery protocol-2 messages for `run_job(job_id)`, built from one message Celery made.

    Only the task id and its argument differ between two run_job messages; building each from
    scratch (`create_task_message`) reads a dozen settings per message and was the largest cost
    of a 10,000-job tick after the database writes.
    """

    _PLACEHOLDER = "00000000-0000-0000-0000-000000000000"

    def __init__(self) -> None:
        template = app.amqp.create_task_message(
            self._PLACEHOLDER, RUN_JOB_TASK, (self._PLACEHOLDER,), {}, ignore_result=True
        )
        self.headers, self.properties = template.headers, template.properties
        self.embed = template.body[2]

    def for_job(self, task_id: str) -> tuple[tuple, dict, dict]:
        headers = {**self.headers, "id": task_id, "root_id": task_id, "argsrepr": repr((task_id,))}
        properties = {**self.properties, "correlation_id": task_id}
        return ((task_id,), {}, self.embed), headers, properties


def jobs_publish(*, jobs: list[tuple[UUID, UUID]], now: datetime) -> PublishResult:
    """Publish `run_job` for each (job_id, agent_id) and mark the published ones `queued`."""
    result = jobs_send(jobs=jobs)
    jobs_mark_queued(job_ids=result.published, now=now)
    return result


def jobs_send(*, jobs: list[tuple[UUID, UUID]]) -> PublishResult:
    """Put a `run_job` message for each (job_id, agent_id) on the agent's queue. Broker only —
    no database — so the tick can run it beside its next batch's database work.

    Pipelined: each message is Celery's own protocol-2 run_job message (see _RunJobMessages),
    kombu buffers the pushes and flushes them in chunks — one Redis round trip per chunk instead
    of two per message — straight onto the agent's queue (a Redis list). No retries: on the
    first broker error the unsent jobs are reported failed and stay `pending` for the
    republisher (a chunk whose flush failed half-way may be sent again later; the runner's claim
    makes a duplicate harmless).
    """
    result = PublishResult()
    if not jobs:
        return result
    messages = _RunJobMessages()
    try:
        with app.producer_or_acquire() as producer:
            for start in range(0, len(jobs), PUBLISH_CHUNK):
                chunk = jobs[start : start + PUBLISH_CHUNK]
                with producer.batch(max_size=PUBLISH_CHUNK + 1):
                    for job_id, agent_id in chunk:
                        body, headers, properties = messages.for_job(str(job_id))
                        producer.publish(
                            body,
                            exchange="",  # the default exchange: routing key = queue name
                            routing_key=agent_queue(agent_id),
                            headers=headers,
                            serializer="json",
                            retry=False,
                            **properties,
                        )
                result.published.extend(job_id for job_id, _ in chunk)
    except Exception as exc:  # kombu OperationalError, redis errors, DNS…: all mean "not sent"
        message = f"broker publish failed: {type(exc).__name__}: {exc}"[:500]
        log_event(
            log,
            logging.WARNING,
            "publish_failed",
            jobs=len(jobs) - len(result.published),
            error=message,
        )
        sent = set(result.published)
        result.failed = {job_id: message for job_id, _ in jobs if job_id not in sent}
    return result


def jobs_mark_queued(*, job_ids: list[UUID], now: datetime) -> None:
    """Published jobs move to `queued` — compare-and-swap: only rows still waiting; a runner
    that already claimed one (running) is left alone."""
    if job_ids:
        Job.objects.filter(
            id__in=job_ids, status__in=[JobStatus.PENDING, JobStatus.RETRYING]
        ).update(
            status=JobStatus.QUEUED,
            queued_at=now,
            celery_task_id=Cast("id", output_field=CharField()),
        )


# How much of an agent's queue the vanished-message check reads (it runs only for agents with
# a free slot, whose queues are short).
VANISHED_SCAN_MAX = 10_000

# A pending job younger than this is probably being published by the tick that created it.
PENDING_REPUBLISH_AFTER_SECONDS = 10


def jobs_republish_due(*, now: datetime, limit: int = 1000) -> PublishResult:
    """Publish what is owed a message: `pending` jobs whose publish failed (or whose publisher
    died), and `retrying` jobs whose `retry_at` has passed. Used by the tick and the watchdog."""
    from datetime import timedelta

    from django.db.models import Q

    stale_pending = Q(
        status=JobStatus.PENDING,
        created_at__lt=now - timedelta(seconds=PENDING_REPUBLISH_AFTER_SECONDS),
    )
    due_retry = Q(status=JobStatus.RETRYING, retry_at__lte=now)
    rows = list(
        Job.objects.filter(stale_pending | due_retry, agent__isnull=False)
        .order_by("created_at")
        .values_list("id", "agent_id")[:limit]
    )
    return jobs_publish(jobs=rows, now=now)


def jobs_republish_vanished(
    *, candidates: list[tuple[UUID, UUID]], dry_run: bool = False
) -> PublishResult:
    """Publish again the `queued` candidates (agents.selectors.jobs_queued_for_free_agents)
    whose message is no longer in their agent's queue: a Redis restarted without persistence,
    or flushed, loses them while the database still says `queued` (SPEC §10). One LRANGE per
    agent, pipelined; a message still waiting is left alone, so a slow agent gets no duplicate
    (and a duplicate would be harmless anyway: the claim is a compare-and-swap)."""
    if not candidates:
        return PublishResult()
    agents = sorted({agent_id for _, agent_id in candidates}, key=str)
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        with client.pipeline(transaction=False) as pipe:
            for agent_id in agents:
                pipe.lrange(agent_queue(agent_id), 0, VANISHED_SCAN_MAX - 1)
            queues = dict(zip(agents, pipe.execute(), strict=True))
    except redis.RedisError as exc:
        log_event(log, logging.WARNING, "vanished_scan_failed", error=type(exc).__name__)
        return PublishResult()
    finally:
        client.close()
    vanished = [
        (job_id, agent_id)
        for job_id, agent_id in candidates
        if not any(str(job_id).encode() in message for message in queues[agent_id])
    ]
    if dry_run or not vanished:
        return PublishResult(published=[job_id for job_id, _ in vanished])
    result = jobs_send(jobs=vanished)
    if result.published:
        log_event(log, logging.WARNING, "vanished_messages_republished", jobs=len(result.published))
    return result
