"""Exit 75 is transient: retried after the retry delay (in the database, republished when due)
while attempts remain; beyond them the job fails. Every attempt is kept."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish, jobs_republish_due
from agents.models import ErrorKind, JobStatus
from tests.process.helpers import FINISHED, job_status, make_agent, make_job, make_org, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Exit 75 on attempts 1 and 2, succeed on attempt 3.
FLAKY = """
import json, sys
attempt = json.load(sys.stdin)["job"]["attempt"]
print("attempt", attempt)
sys.exit(75 if attempt < 3 else 0)
"""


def run_with_republish(job, *, timeout: float):
    """What the tick/watchdog do: republish due retries until the job finishes."""

    def finished():
        jobs_republish_due(now=timezone.now())
        return job_status(job) in FINISHED

    wait_for(finished, timeout=timeout, interval=0.2, what="the job to finish")
    job.refresh_from_db()
    return job


def test_it_retries_exit_75_after_the_delay_and_succeeds(start_agent):
    agent = make_agent(make_org())
    job = make_job(agent, FLAKY, max_attempts=3, retry_delay_seconds=2)  # max retries 2
    start_agent(agent)

    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    job = run_with_republish(job, timeout=40)

    assert job.status == JobStatus.SUCCEEDED
    assert job.attempt == 3
    attempts = list(job.attempts.order_by("number"))
    assert [(a.number, a.status, a.exit_code) for a in attempts] == [
        (1, JobStatus.FAILED, 75),
        (2, JobStatus.FAILED, 75),
        (3, JobStatus.SUCCEEDED, 0),
    ]
    assert attempts[0].error_kind == ErrorKind.TRANSIENT
    for before, after in zip(attempts, attempts[1:], strict=False):
        gap = (after.started_at - before.finished_at).total_seconds()
        assert gap >= 2, f"attempt {after.number} started {gap:.2f}s after the previous one"
    assert "attempt 3" in job.log


def test_it_fails_exit_75_beyond_max_retries(start_agent):
    agent = make_agent(make_org())
    job = make_job(agent, "import sys; sys.exit(75)", max_attempts=2, retry_delay_seconds=0)
    start_agent(agent)

    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    job = run_with_republish(job, timeout=30)

    assert job.status == JobStatus.FAILED
    assert job.error_kind == ErrorKind.TRANSIENT
    assert job.exit_code == 75
    assert job.retry_at is None
    assert [a.exit_code for a in job.attempts.order_by("number")] == [75, 75]
    time.sleep(0.5)
    jobs_republish_due(now=timezone.now())
    assert job.attempts.count() == 2
