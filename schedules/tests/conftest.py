"""Fixtures for the tick's tests: a fixed `now`, an agent of `org` online at that moment, and due
schedules built around them (`org` and `script` are the shared ones of tests/fixtures.py)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from agents.models import AgentStatus, Controller
from tests.factories import AgentFactory, ScheduleFactory

NOW = datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def online_agent(org):
    # Heartbeat at `now`: online for the engine's purposes (readiness uses the passed-in now).
    return AgentFactory(
        organization=org,
        status=AgentStatus.ONLINE,
        last_heartbeat_at=NOW - timedelta(seconds=5),
        controller=Controller.MANUAL,
        auto_start=False,
    )


@pytest.fixture
def make_due(org, online_agent, script):
    """A schedule whose next occurrence is exactly `now`'s minute (due)."""

    def make(**kw):
        fields = dict(
            organization=org,
            agent=online_agent,
            script=script,
            cron_expression="0 14 * * *",
            next_run_at=NOW.replace(second=0),
        )
        fields.update(kw)
        return ScheduleFactory(**fields)

    return make


@pytest.fixture
def hourly(make_due):
    """An hourly schedule (0 * * * *, UTC), due at `now`'s minute."""
    return make_due(cron_expression="0 * * * *")


@pytest.fixture
def loopback_alert_webhooks(settings):
    """Alert webhooks may reach loopback (the tests' own servers), which production refuses."""
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def alert_sends_enqueued(monkeypatch):
    """The ids handed to the send_alerts task after commit, recorded instead of published: the
    test's Redis is shared with tests that count the control plane's queue. Tests that deliver
    call the task function themselves."""
    from schedules.tasks import send_alerts

    enqueued: list[list[str]] = []
    monkeypatch.setattr(
        send_alerts, "apply_async", lambda args, **options: enqueued.append(list(args[0]))
    )
    return enqueued


@pytest.fixture
def frozen_now():
    """Time frozen at `now` (with control_plane_clock_is_time_machines, the control plane's
    clock too): for pages and endpoints that read the clock where the request enters."""
    with time_machine.travel(NOW, tick=False):
        yield NOW
