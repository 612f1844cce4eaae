"""Every deciding timestamp of the agent API is the control plane's clock — the database's —
not the clock of the host that happens to serve the request (SPEC §7, §10): a retry made due by
a watchdog on one host is claimable through a web process whose host clock runs minutes
behind, and heartbeats are recorded on the database's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from agents import services
from agents.models import Agent, Job, JobStatus
from config.clock import control_plane_now

pytestmark = pytest.mark.django_db(transaction=True)


def as_agent(agent) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Agent {services.agent_token_issue(agent_id=agent.id)}")
    return client


@pytest.mark.parametrize("skew", [timedelta(minutes=-5), timedelta(minutes=5)])
def test_claims_and_heartbeats_use_the_databases_clock(agent, make_job, skew):
    db_now = control_plane_now()
    # Due now by the database's clock (as a watchdog elsewhere decided).
    job = make_job(status=JobStatus.RETRYING, attempt=2, max_attempts=3, retry_at=db_now)
    client = as_agent(agent)
    with time_machine.travel(db_now + skew, tick=True):  # this web host's clock is off
        claimed = client.post(f"/api/agents/{agent.id}/jobs/{job.id}/claim", {}, format="json")
        client.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json")
    assert claimed.status_code == 200, claimed.content
    job = Job.objects.get(id=job.id)
    assert abs(job.started_at - db_now) < timedelta(seconds=30)
    beat = Agent.objects.get(id=agent.id).last_heartbeat_at
    assert abs(beat - db_now) < timedelta(seconds=30)
