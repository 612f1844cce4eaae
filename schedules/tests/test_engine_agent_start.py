"""Agent readiness through the tick: an offline agent with auto-start is started by its
controller; a controller that fails gives `agent_start_failed` (and no job left waiting);
with auto-start off the run is skipped `agent_unavailable`."""

import socket

import pytest

from agents.models import AgentStatus, Controller, Job, JobStatus
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import ScheduleEvent
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_it_reports_agent_start_failed_when_the_webhook_fails(now, make_due, org):
    agent = AgentFactory(
        organization=org,
        status=AgentStatus.OFFLINE,
        auto_start=True,
        controller=Controller.WEBHOOK,
        controller_config={
            "url": f"http://127.0.0.1:{closed_port()}/start",
            "secret": "hook-secret",
        },
    )
    s = make_due(agent=agent)
    report = report_json(run_tick(now=now, use_executor_lock=False))

    assert report["triggeredSchedules"] == []
    (error,) = report["errors"]
    assert (error["scheduleId"], error["code"]) == (str(s.id), "agent_start_failed")
    assert "hook-secret" not in error["message"]
    job = Job.objects.get(schedule=s)
    assert job.status == JobStatus.FAILED  # never left waiting for a message that won't come
    assert job.error_kind == "agent_unavailable"
    assert ScheduleEvent.objects.filter(
        schedule=s, kind="error", reason="agent_start_failed"
    ).exists()


def test_it_skips_an_offline_agent_without_auto_start(now, make_due, org):
    agent = AgentFactory(
        organization=org, status=AgentStatus.OFFLINE, auto_start=False, controller=Controller.LOCAL
    )
    s = make_due(agent=agent)
    report = report_json(run_tick(now=now, use_executor_lock=False))
    assert report["skipped"] == [
        {
            "scheduleId": str(s.id),
            "reason": "agent_unavailable",
            "detail": f"agent '{agent.name}' is offline; auto-start is off",
        }
    ]
    assert not Job.objects.exists()
