"""A job published to a real `runagent` process runs its script with variables and a vault
secret on stdin, its log is stored with the secret redacted, and it succeeds."""

from __future__ import annotations

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish
from agents.models import JobStatus
from tests.process.helpers import make_agent, make_job, make_org, wait_for_status
from vault.services import vault_set

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCRIPT = """
import json, sys
payload = json.load(sys.stdin)
print("region=" + payload["variables"]["region"])
print("password=" + payload["secrets"]["PORTAL_PASSWORD"])
print("job=" + payload["job"]["id"] + " attempt=" + str(payload["job"]["attempt"]))
"""


def test_it_runs_a_published_job_with_variables_and_a_redacted_secret(start_agent):
    org = make_org()
    agent = make_agent(org)
    vault_set(organization=org, key="PORTAL_PASSWORD", value="hunter2-s3cret")
    job = make_job(agent, SCRIPT, variables={"region": "us-east"}, vault_keys=["PORTAL_PASSWORD"])
    start_agent(agent)

    result = jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    assert result.published == [job.id]

    job = wait_for_status(job, JobStatus.SUCCEEDED, timeout=20)
    assert job.exit_code == 0
    assert "region=us-east" in job.log
    assert f"job={job.id} attempt=1" in job.log
    assert "hunter2-s3cret" not in job.log
    assert "password=[REDACTED:PORTAL_PASSWORD]" in job.log
    [attempt] = job.attempts.all()
    assert attempt.status == JobStatus.SUCCEEDED
    assert attempt.log == job.log
    assert attempt.worker_hostname.startswith(f"agent-{str(agent.id)[:8]}@")
