"""The runner's claim is a compare-and-swap: exactly one claimer wins; finished, running,
canceled jobs and retries not yet due are not claimable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import JobAttempt, JobStatus
from agents.services import ClaimRefused, job_claim


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RETRYING])
def test_it_claims_a_waiting_job_once(make_job, status):
    job = make_job(status=status, max_runtime_minutes=30)
    now = timezone.now()

    claimed = job_claim(job_id=job.id, agent_id=job.agent_id, now=now, hostname="agent-a@h")
    again = job_claim(job_id=job.id, agent_id=job.agent_id, now=now, hostname="agent-b@h")

    assert again is ClaimRefused.NOT_CLAIMABLE
    assert claimed.status == JobStatus.RUNNING
    assert (claimed.started_at, claimed.heartbeat_at) == (now, now)
    assert claimed.deadline_at == now + timedelta(minutes=30)
    assert claimed.worker_hostname == "agent-a@h"
    attempt = JobAttempt.objects.get(job=job)
    assert (attempt.number, attempt.status, attempt.worker_hostname) == (
        1,
        JobStatus.RUNNING,
        "agent-a@h",
    )


@pytest.mark.parametrize(
    "status",
    [JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.LOST],
)
def test_it_does_not_claim_a_running_or_finished_job(make_job, status):
    job = make_job(status=status)
    claimed = job_claim(job_id=job.id, agent_id=job.agent_id, now=timezone.now(), hostname="h")
    assert claimed is ClaimRefused.NOT_CLAIMABLE
    assert not JobAttempt.objects.filter(job=job).exists()


def test_it_does_not_claim_a_retry_before_its_delay(make_job):
    now = timezone.now()
    job = make_job(
        status=JobStatus.RETRYING, attempt=2, max_attempts=3, retry_at=now + timedelta(seconds=30)
    )
    early = job_claim(job_id=job.id, agent_id=job.agent_id, now=now, hostname="h")
    assert early is ClaimRefused.NOT_CLAIMABLE
    claimed = job_claim(
        job_id=job.id, agent_id=job.agent_id, now=now + timedelta(seconds=30), hostname="h"
    )
    assert claimed.attempt == 2 and claimed.retry_at is None
    assert JobAttempt.objects.get(job=job).number == 2


def test_it_caps_the_deadline_at_the_agent_runtime_cap(make_job):
    job = make_job(max_runtime_minutes=720)
    now = timezone.now()
    claimed = job_claim(
        job_id=job.id, agent_id=job.agent_id, now=now, hostname="h", max_runtime_cap_seconds=5
    )
    assert claimed.deadline_at == now + timedelta(seconds=5)


def test_it_ignores_an_unknown_job_and_another_agents_job(make_job, agent):
    import uuid

    from tests.factories import AgentFactory

    now = timezone.now()
    unknown = job_claim(job_id=uuid.uuid4(), agent_id=agent.id, now=now, hostname="h")
    assert unknown is ClaimRefused.NOT_FOUND
    job = make_job()
    other = AgentFactory(organization=agent.organization)
    assert job_claim(job_id=job.id, agent_id=other.id, now=now, hostname="h") is (
        ClaimRefused.NOT_FOUND
    )
    assert JobAttempt.objects.filter(job=job).count() == 0
