"""A script that outlives its deadline is killed with everything it spawned (`timed_out`), and
its agent slot is free for the next job."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish
from agents.models import ACTIVE_JOB_STATUSES, ErrorKind, Job, JobStatus
from tests.process.helpers import (
    SCRIPT_WITH_CHILD,
    make_agent,
    make_job,
    make_org,
    pid_alive,
    wait_for,
    wait_for_status,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_it_kills_the_whole_process_group_at_the_deadline(start_agent, settings):
    agent = make_agent(make_org(), capacity=1)
    job = make_job(agent, SCRIPT_WITH_CHILD, max_runtime_minutes=1, max_attempts=3)
    # The control plane caps every job's runtime at 2 s when it is claimed; the runtime
    # enforces the maxRuntimeSeconds it is given.
    settings.AGENT_MAX_RUNTIME_SECONDS = 2
    start_agent(agent)

    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    job = wait_for_status(job, JobStatus.TIMED_OUT, timeout=20)

    assert job.error_kind == ErrorKind.TIMED_OUT
    assert job.attempts.count() == 1  # a timeout is not retried
    pids = re.search(r"script=(\d+) child=(\d+)", job.log)
    assert pids, job.log
    script_pid, child_pid = map(int, pids.groups())
    wait_for(
        lambda: not pid_alive(script_pid) and not pid_alive(child_pid),
        timeout=5,
        what="the script and its child to be gone",
    )
    assert 1.5 <= (job.finished_at - job.started_at).total_seconds() < 8
    assert not Job.objects.filter(id=job.id, status__in=ACTIVE_JOB_STATUSES).exists()

    # The only slot (capacity 1) is free again.
    follow_up = make_job(agent, "print('next')")
    jobs_publish(jobs=[(follow_up.id, agent.id)], now=timezone.now())
    wait_for_status(follow_up, JobStatus.SUCCEEDED, timeout=15)
