"""The same task message delivered twice runs the job once: the runner's compare-and-swap claim
drops the duplicate."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish
from agents.models import JobStatus
from tests.process.helpers import make_agent, make_job, make_org, wait_for, wait_for_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Leaves one line per run in a side-effect file, and takes long enough for both messages to
# be in flight at once on a capacity-2 agent.
APPENDS = """
import json, sys, time
path = json.load(sys.stdin)["variables"]["sidefile"]
with open(path, "a") as fh:
    fh.write("ran\\n")
time.sleep(1)
"""


def test_it_runs_a_twice_delivered_job_once(start_agent, drop_dir):
    sidefile = drop_dir / "runs.txt"
    agent = make_agent(make_org(), capacity=2)
    job = make_job(agent, APPENDS, max_attempts=3, variables={"sidefile": str(sidefile)})
    process = start_agent(agent)

    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())

    job = wait_for_status(job, JobStatus.SUCCEEDED, timeout=20)
    wait_for(
        lambda: process.events("job_message_dropped"),
        timeout=10,
        what="the duplicate message to be dropped",
    )
    assert sidefile.read_text() == "ran\n"
    assert job.attempts.count() == 1
    assert [claimed["job"] for claimed in process.events("job_claimed")] == [str(job.id)]
