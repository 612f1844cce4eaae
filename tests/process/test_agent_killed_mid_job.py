"""kill -9 of an agent mid-job: the script dies with it (no orphaned bot), the watchdog marks
the job lost and — a lost run being transient — retries it; the agent, back, runs it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.models import ErrorKind, Job, JobStatus
from agents.watchdog import watchdog_run
from tests.process.helpers import (
    job_status,
    make_agent,
    make_job,
    make_org,
    parent_pid,
    pid_alive,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Attempt 1 hangs (writing its pid where the test can read it); attempt 2 succeeds.
HANGS_ONCE = """
import json, os, sys, time
payload = json.load(sys.stdin)
if payload["job"]["attempt"] == 1:
    with open(payload["variables"]["pidfile"], "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(120)
print("second attempt ran")
"""


def test_it_recovers_a_job_whose_agent_was_killed(start_agent, settings, drop_dir):
    settings.AGENT_ONLINE_SECONDS = 3  # the watchdog's staleness threshold, in this process
    pidfile = drop_dir / "script.pid"  # written by the script, as the agent's script user
    agent = make_agent(make_org())
    job = make_job(agent, HANGS_ONCE, max_attempts=2, variables={"pidfile": str(pidfile)})
    first = start_agent(agent)

    from agents.dispatch import jobs_publish

    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    wait_for(pidfile.exists, timeout=15, what="the script to start")
    script_pid = int(wait_for(pidfile.read_text, timeout=5))
    supervisor_pid = parent_pid(script_pid)
    assert parent_pid(supervisor_pid) == first.pid  # runtime -> supervisor -> script
    assert job_status(job) == JobStatus.RUNNING

    first.kill9()
    # The script's supervisor notices its parent died and kills the group.
    wait_for(
        lambda: not pid_alive(script_pid) and not pid_alive(supervisor_pid),
        timeout=5,
        what="the orphaned script to be killed",
    )
    assert job_status(job) == JobStatus.RUNNING  # nobody has said otherwise yet

    report = wait_for(
        lambda: (r := watchdog_run(now=timezone.now()))["lost"] and r,
        timeout=10,
        interval=0.5,
        what="the watchdog to see the job lost",
    )
    assert report["lost"] == [str(job.id)]
    assert report["republished"] == [str(job.id)]  # retried at once (retry_at = now)
    assert job_status(job) == JobStatus.QUEUED

    start_agent(agent)  # back: drains its queue
    wait_for(
        lambda: job_status(job) == JobStatus.SUCCEEDED,
        timeout=20,
        what="the retried job to succeed",
    )
    job.refresh_from_db()
    attempts = list(job.attempts.order_by("number"))
    assert [(a.number, a.status) for a in attempts] == [
        (1, JobStatus.LOST),
        (2, JobStatus.SUCCEEDED),
    ]
    assert attempts[0].error_kind == ErrorKind.LOST
    assert "second attempt ran" in job.log
    assert not Job.objects.filter(status=JobStatus.RUNNING).exists()
