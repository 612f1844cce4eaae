"""Fixtures for the agents app's tests: rows built with tests.factories, callers by role."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import Job, JobAttempt, JobStatus, Trigger
from billing.models import Role
from tests.factories import AgentFactory, MembershipFactory, OrganizationFactory


@pytest.fixture
def org(db):
    return OrganizationFactory()


@pytest.fixture
def agent(org):
    return AgentFactory(organization=org)


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
            script_version=1,
            script_runtime="python",
            script_source="print('hi')",
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


@pytest.fixture
def client_for(db):
    """client_for(org, role) -> an APIClient authenticated as a member of `org` with `role`."""

    def make(organization, role=Role.OPERATOR) -> APIClient:
        membership = MembershipFactory(organization=organization, role=role)
        client = APIClient()
        client.force_authenticate(membership.user)
        return client

    return make
