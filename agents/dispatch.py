"""Publishing jobs to their agents' queues: the one place a job message is sent.

Called after the dispatching transaction commits (never inside it: no network I/O while holding
row locks). The tick writes a job `queued` in the transaction that decides it — one write per
job — and sends its message after commit (jobs_send); a message that could not be sent puts
its job back to `pending` (jobs_unsend), which the republisher (the watchdog, the next tick)
publishes; a tick killed between its commit and its send leaves `queued` jobs with no message,
which the watchdog's vanished-message check finds and publishes (jobs_republish_vanished).
Jobs waiting `pending` (or `retrying`) move to `queued` when their message is out
(jobs_publish). The runner's compare-and-swap claim makes a duplicate message harmless.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
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

# Messages per Redis pipeline round trip.
PUBLISH_CHUNK = 1000


def agent_queue(agent_id) -> str:
    """Each agent consumes only its own queue (see Agent.queue_name)."""
    return f"agent.{agent_id}"


@dataclass
class PublishResult:
    published: list[UUID] = field(default_factory=list)
    failed: dict[UUID, str] = field(default_factory=dict)  # job id -> error message


class _RunJobMessages:
    """Redis-ready `run_job(job_id)` messages, serialized once per batch and stamped per job.

    A message on an agent's queue is kombu's Redis envelope (base64 body, headers, properties
    with delivery info and a delivery tag) around Celery's protocol-2 task message. Only the task
    id (in the body, four headers and the correlation id), the delivery tag and the queue differ
    between two run_job messages, so the envelope is built once from the message Celery itself
    makes (`create_task_message`, so every header Celery's worker reads is Celery's own) and
    JSON-encoded once; each job's message is that text with its id, body and tag put in. Building
    each through kombu's producer instead cost ~0.2 ms a message — most of a 10,000-job tick's
    publishing. agents/tests/test_dispatch_messages.py holds it equal to what kombu sends.
    """

    _ID = "00000000-0000-0000-0000-000000000000"
    _BODY, _TAG, _QUEUE = "@@body@@", "@@delivery-tag@@", "@@queue@@"

    def __init__(self) -> None:
        made = app.amqp.create_task_message(
            self._ID, RUN_JOB_TASK, (self._ID,), {}, ignore_result=True
        )
        # The body Celery serializes: [args, kwargs, embed], JSON like kombu's json serializer.
        self._body = json.dumps([[self._ID], {}, made.body[2]])
        envelope = {
            "body": self._BODY,
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": made.headers,
            "properties": {
                **made.properties,
                "reply_to": made.properties.get("reply_to") or "",
                "delivery_mode": 2,  # persistent, as Celery publishes task messages
                "delivery_info": {"exchange": "", "routing_key": ""},  # the default exchange
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": self._TAG,
            },
        }
        routing_key = f'"routing_key": "{self._QUEUE}"'
        text = json.dumps(envelope).replace('"routing_key": ""', routing_key, 1)
        # The envelope cut at its placeholders: a message is its pieces joined with the job's
        # values, one copy of its ~1 KB (formatting the text anew parsed all of it per job).
        self._parts, self._slots = self._split(text)
        # The body's base64 in three parts: what precedes the id is a whole number of 3-byte
        # groups, and so is the id (36 characters), so base64(before + id + after) is
        # base64(before) + base64(id) + base64(after), the outer two made here once.
        before, _, after = self._body.partition(self._ID)
        self._body_b64 = (
            (_b64(before), _b64(after))
            if len(before) % 3 == 0 and len(self._ID) % 3 == 0 and self._ID not in after
            else None
        )
        # Delivery tags (kombu: a uuid4 per message): this batch's random uuid with the
        # message's number as its last 12 digits — unique without a system call per message.
        self._tag_prefix = str(uuid.uuid4())[:24]
        self._sent = 0

    def _split(self, text: str) -> tuple[list[str], dict[str, tuple[int, ...]]]:
        """The text as a list of its literal pieces with an empty slot where each placeholder
        was, and the slots of each value ("id" has several)."""
        names = {self._ID: "id", self._BODY: "body", self._TAG: "tag", self._QUEUE: "queue"}
        parts: list[str] = []
        slots: dict[str, list[int]] = {name: [] for name in names.values()}
        while found := [(text.find(p), p) for p in names if p in text]:
            at, placeholder = min(found)
            parts.append(text[:at])
            slots[names[placeholder]].append(len(parts))
            parts.append("")
            text = text[at + len(placeholder) :]
        parts.append(text)
        return parts, {name: tuple(at) for name, at in slots.items()}

    def for_job(self, job_id: str, queue: str) -> str:
        if self._body_b64 is not None:
            head, tail = self._body_b64
            body = head + _b64(job_id) + tail
        else:
            body = _b64(self._body.replace(self._ID, job_id))
        self._sent += 1
        parts, slots = self._parts.copy(), self._slots
        for at in slots["id"]:
            parts[at] = job_id
        for at in slots["body"]:
            parts[at] = body
        for at in slots["queue"]:
            parts[at] = queue
        for at in slots["tag"]:
            parts[at] = f"{self._tag_prefix}{self._sent:012x}"
        return "".join(parts)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _broker() -> redis.Redis:
    """A client of the broker Celery publishes to (its URL, so both always agree), one pool per
    process and URL: redis-py resets a pool after a fork, so a forked evaluator gets its own
    connections."""
    url = app.conf.broker_url
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url)
    return client


_clients: dict[str, redis.Redis] = {}


def jobs_publish(*, jobs: list[tuple[UUID, UUID]], now: datetime) -> PublishResult:
    """Publish `run_job` for each waiting (job_id, agent_id) and mark the published ones
    `queued` (the republisher's path; the tick writes its jobs `queued` and only sends)."""
    result = jobs_send(jobs=jobs)
    jobs_mark_queued(job_ids=result.published, now=now)
    return result


def jobs_send(*, jobs: list[tuple[UUID, UUID]]) -> PublishResult:
    """Put a `run_job` message for each (job_id, agent_id) on the agent's queue (a Redis list,
    consumed by the agent's Celery worker). Broker only — no database.

    Pipelined: a chunk of PUBLISH_CHUNK messages is one Redis round trip of one LPUSH per agent
    queue (LPUSH takes many values, pushed in order; the worker pops from the other end, so
    they are taken in order), each message pre-serialized (see _RunJobMessages). No retries: on
    the first broker error the unsent jobs are reported failed (a chunk whose round trip failed
    half-way may be sent again later; the runner's claim is a compare-and-swap, so a duplicate
    message is harmless).
    """
    result = PublishResult()
    if not jobs:
        return result
    messages = _RunJobMessages()
    try:
        client = _broker()
        for start in range(0, len(jobs), PUBLISH_CHUNK):
            chunk = jobs[start : start + PUBLISH_CHUNK]
            by_queue: dict[str, list[str]] = {}
            queues: dict[UUID, str] = {}  # a few agents for a thousand jobs
            for job_id, agent_id in chunk:
                queue = queues.get(agent_id) or queues.setdefault(agent_id, agent_queue(agent_id))
                by_queue.setdefault(queue, []).append(messages.for_job(str(job_id), queue))
            with client.pipeline(transaction=False) as pipe:
                for queue, values in by_queue.items():
                    pipe.lpush(queue, *values)
                pipe.execute()
            result.published.extend(job_id for job_id, _ in chunk)
    except Exception as exc:  # redis errors, DNS, auth…: all mean "not sent"
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


def jobs_unsend(*, job_ids: list[UUID]) -> None:
    """Jobs written `queued` whose message could not be sent go back to `pending`, for the
    republisher — compare-and-swap: only rows still `queued` and never started."""
    if job_ids:
        Job.objects.filter(id__in=job_ids, status=JobStatus.QUEUED, started_at__isnull=True).update(
            status=JobStatus.PENDING, queued_at=None
        )


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
