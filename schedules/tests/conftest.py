"""Fixtures for the tick's tests: a fixed `now`, a healthy organization with an online agent,
and due schedules built around them."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.models import AgentStatus, Controller
from tests.factories import AgentFactory, OrganizationFactory, ScheduleFactory, ScriptFactory

NOW = datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def org(db):
    return OrganizationFactory(billing_status="active")


@pytest.fixture
def agent(org):
    # Heartbeat at `now`: online for the engine's purposes (readiness uses the passed-in now).
    return AgentFactory(
        organization=org,
        status=AgentStatus.ONLINE,
        last_heartbeat_at=NOW - timedelta(seconds=5),
        controller=Controller.MANUAL,
        auto_start=False,
    )


@pytest.fixture
def script(org):
    return ScriptFactory(organization=org)


@pytest.fixture
def make_due(org, agent, script):
    """A schedule whose next occurrence is exactly `now`'s minute (due)."""

    def make(**kw):
        fields = dict(
            organization=org,
            agent=agent,
            script=script,
            cron_expression="0 14 * * *",
            next_run_at=NOW.replace(second=0),
        )
        fields.update(kw)
        return ScheduleFactory(**fields)

    return make
