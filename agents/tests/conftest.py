"""Fixtures only the agents app's tests need (the shared ones — org, agent, client_for … — are in
tests/fixtures.py)."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.utils import timezone

from agents.models import Job, JobAttempt, JobStatus, ScriptVersion, Trigger

_AGENT = object()  # make_job's default target; None means "no agent" (deleted)


@pytest.fixture
def make_job(agent):
    """make_job(status=..., **fields) -> a Job on `agent`, without a schedule."""

    def make(status=JobStatus.QUEUED, target=_AGENT, attempt_row=False, **fields) -> Job:
        target = agent if target is _AGENT else target
        now = fields.pop("now", timezone.now())
        job = Job.objects.create(
            organization=agent.organization,
            agent=target,
            code=ScriptVersion.objects.create(
                organization=agent.organization, version=1, runtime="python", source="print('hi')"
            ),
            script_version=1,
            trigger=Trigger.MANUAL,
            scheduled_for=now,
            idempotency_key=f"t:{uuid.uuid4()}",
            status=status,
            created_at=fields.pop("created_at", now),
            **fields,
        )
        if attempt_row:
            JobAttempt.objects.create(
                job=job, number=job.attempt, status=JobStatus.RUNNING, started_at=job.started_at
            )
        return job

    return make


def agent_users(client: redis.Redis) -> set[str]:
    """The agents' Redis users (ACL LIST names)."""
    names = (n.decode() if isinstance(n, bytes) else n for n in client.acl_users())
    return {name for name in names if name.startswith("agent-")}


@pytest.fixture
def broker_admin(redis_client: redis.Redis, settings, redis_url):
    """The control plane's Redis client in ACL mode; no agent user left over from other tests,
    before or after, and an empty ACL LOG to start with."""
    settings.REDIS_URL = redis_url
    settings.BROKER_ACL_MODE = "acl"
    settings.AGENT_BROKER_URL = ""

    def clean() -> None:
        for name in agent_users(redis_client):
            redis_client.acl_deluser(name)

    clean()
    redis_client.acl_log_reset()
    yield redis_client
    clean()
