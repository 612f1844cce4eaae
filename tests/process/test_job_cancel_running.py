"""Canceling a running job (POST /api/jobs/{id}/cancel) kills its whole process tree; the job
ends `canceled`."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from agents.dispatch import jobs_publish
from agents.models import ErrorKind, Job, JobStatus
from billing.models import Membership, Role
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


def test_it_kills_the_process_tree_of_a_canceled_running_job(start_agent):
    org = make_org()
    agent = make_agent(org)
    job = make_job(agent, SCRIPT_WITH_CHILD, max_attempts=3)
    operator = get_user_model().objects.create_user("operator", password="x")
    Membership.objects.create(user=operator, organization=org, role=Role.OPERATOR)
    client = APIClient()
    client.force_authenticate(operator)
    start_agent(agent)

    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    # The live log shows the script started (and its pids) while it still runs.
    wait_for(
        lambda: Job.objects.filter(
            id=job.id, status=JobStatus.RUNNING, log__contains="child="
        ).exists(),
        timeout=15,
        what="the job to run and log its pids",
    )
    response = client.post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "running"
    assert response.json()["cancelRequestedAt"]

    job = wait_for_status(job, JobStatus.CANCELED, timeout=10)
    assert job.error_kind == ErrorKind.CANCELED
    script_pid, child_pid = map(int, re.search(r"script=(\d+) child=(\d+)", job.log).groups())
    wait_for(
        lambda: not pid_alive(script_pid) and not pid_alive(child_pid),
        timeout=5,
        what="the script and its child to be gone",
    )
    assert job.attempts.get().status == JobStatus.CANCELED
    # A finished job cannot be canceled again.
    assert client.post(f"/api/jobs/{job.id}/cancel").status_code == 409
