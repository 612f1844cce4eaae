"""Fixtures for the staff UI tests (Django admin at /app/): two organizations with a bit of
everything, and logged-in clients by role."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import Role
from tests.factories import (
    AgentFactory,
    JobFactory,
    OrganizationFactory,
    ScheduleFactory,
    ScriptFactory,
    member,
)
from vault.services import vault_set


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", name="Globex")


def _world(organization, tag: str) -> dict:
    """An agent, a script, a schedule with a job and an event, a vault entry — names tagged."""
    agent = AgentFactory(organization=organization, name=f"{tag} agent", slug=f"{tag}-agent")
    script = ScriptFactory(organization=organization, name=f"{tag} script")
    schedule = ScheduleFactory(
        organization=organization, name=f"{tag} schedule", agent=agent, script=script
    )
    job = JobFactory(schedule=schedule, idempotency_key=f"{tag}-job")
    event = schedule.events.create(
        organization=organization, kind="triggered", job=job, created_at=job.created_at
    )
    entry = vault_set(organization=organization, key=f"{tag.upper()}_PASSWORD", value="s3cret")
    return {
        "org": organization,
        "agent": agent,
        "script": script,
        "schedule": schedule,
        "job": job,
        "event": event,
        "vault": entry,
    }


@pytest.fixture
def acme(org):
    return _world(org, "acme")


@pytest.fixture
def globex(other_org):
    return _world(other_org, "globex")


@pytest.fixture
def staff_client(db):
    """staff_client(org, role) -> a Client logged in as a staff member of `org` with `role`."""

    def make(organization, role=Role.ADMIN) -> Client:
        client = Client()
        client.user = member(organization, role)
        client.force_login(client.user)
        return client

    return make


def schedule_form(world: dict, **overrides) -> dict:
    """A valid POST body for the schedule add/change form."""
    data = {
        "name": "Nightly invoice sync",
        "script": str(world["script"].pk),
        "agent": str(world["agent"].pk),
        "cron_expression": "30 2 * * *",
        "timezone": "America/New_York",
        "enabled": "on",
        "max_runtime_minutes": "720",
        "max_retries": "2",
        "retry_delay_seconds": "300",
        "concurrency_limit": "1",
        "idempotency_window_minutes": "0",
        "catch_up_window_minutes": "60",
        "auto_pause_after_failures": "0",
        "variables": '{"region": "us-east"}',
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def form_errors(response) -> dict:
    """Field errors of the admin form on a re-rendered page ({} when it saved)."""
    context = response.context
    if context is None or "adminform" not in context:
        return {}
    return {k: [str(m) for m in v] for k, v in context["adminform"].form.errors.items()}
