"""Control endpoints: agent start/stop (operator+, scoped), the agent-token heartbeat, job
cancel, and the cron-key watchdog. Literal URLs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import AgentStatus, Controller, JobStatus
from billing.models import Role
from tests.factories import AgentFactory, OrganizationFactory


def test_it_refuses_to_start_a_manual_agent(client_for, org, agent):
    response = client_for(org, Role.OPERATOR).post(f"/api/agents/{agent.id}/start")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "manual controller cannot auto-start",
        "code": "agent_start_failed",
    }


def test_it_reports_a_failing_webhook_as_bad_gateway(client_for, org, settings):
    settings.AGENT_WEBHOOK_ALLOW_PRIVATE = True  # a closed port on loopback
    agent = AgentFactory(
        organization=org,
        controller=Controller.WEBHOOK,
        controller_config={"url": "http://127.0.0.1:9/boot", "secret": "s3cr3t-value"},
    )
    response = client_for(org, Role.OPERATOR).post(f"/api/agents/{agent.id}/start")
    assert response.status_code == 502
    assert "unreachable" in response.json()["detail"]
    assert "s3cr3t-value" not in response.content.decode()


def test_it_leaves_an_online_agent_alone_on_start(client_for, org, agent):
    agent.controller, agent.status = Controller.LOCAL, AgentStatus.ONLINE
    agent.last_heartbeat_at = timezone.now()
    agent.save()
    response = client_for(org, Role.OPERATOR).post(f"/api/agents/{agent.id}/start")
    assert response.status_code == 200
    assert response.json()["status"] == "online"


def test_it_marks_a_local_agent_with_no_process_stopped(client_for, org, agent):
    agent.controller = Controller.LOCAL
    agent.save()
    response = client_for(org, Role.OPERATOR).post(f"/api/agents/{agent.id}/stop")
    assert response.status_code == 200
    assert response.json()["status"] == "stopped"


@pytest.mark.parametrize("action", ["start", "stop"])
def test_it_hides_another_organizations_agent(client_for, org, action):
    theirs = AgentFactory(organization=OrganizationFactory())
    response = client_for(org, Role.OWNER).post(f"/api/agents/{theirs.id}/{action}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url", ["/api/agents/{agent}/start", "/api/agents/{agent}/stop", "/api/jobs/{job}/cancel"]
)
def test_it_lets_viewers_control_nothing(client_for, org, agent, make_job, url):
    job = make_job()
    response = client_for(org, Role.VIEWER).post(url.format(agent=agent.id, job=job.id))
    assert response.status_code == 403


def test_it_cancels_a_queued_job_at_once(client_for, org, make_job):
    job = make_job(status=JobStatus.QUEUED)
    response = client_for(org, Role.OPERATOR).post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["errorKind"] == "canceled"


def test_it_refuses_to_cancel_a_finished_job(client_for, org, make_job):
    job = make_job(status=JobStatus.SUCCEEDED)
    response = client_for(org, Role.OPERATOR).post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 409
    assert "already succeeded" in response.json()["detail"]


def test_it_hides_another_organizations_job(client_for, make_job):
    job = make_job()
    response = client_for(OrganizationFactory(), Role.OWNER).post(f"/api/jobs/{job.id}/cancel")
    assert response.status_code == 404


@pytest.fixture
def cron(settings):
    settings.CRON_SECRET = "cron-secret-xyz"
    return {"HTTP_X_CRON_KEY": "cron-secret-xyz"}


def test_it_runs_the_watchdog_with_the_cron_key(db, cron, make_job, redis_url):
    now = timezone.now()
    job = make_job(status=JobStatus.QUEUED, queued_at=now - timedelta(hours=1))
    client = APIClient()

    dry = client.post("/api/jobs/watchdog?dryRun=true", **cron)
    assert dry.status_code == 200
    assert dry.json() == {
        "timedOut": [],
        "lost": [],
        "republished": [],
        "expired": [str(job.id)],
        "startDeadlineExceeded": [],
    }
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED

    bearer = {"HTTP_AUTHORIZATION": "Bearer cron-secret-xyz"}
    response = client.post("/api/jobs/watchdog", {"dryRun": False}, format="json", **bearer)
    assert response.status_code == 200
    assert response.json()["expired"] == [str(job.id)]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_it_refuses_the_watchdog_without_the_cron_key(db, cron):
    assert APIClient().post("/api/jobs/watchdog").status_code == 401
    wrong = {"HTTP_X_CRON_KEY": "nope"}
    assert APIClient().post("/api/jobs/watchdog", **wrong).status_code == 401


def test_it_rejects_a_non_boolean_dry_run(db, cron):
    response = APIClient().post("/api/jobs/watchdog?dryRun=maybe", **cron)
    assert response.status_code == 400
    assert "dryRun" in response.json()


def test_it_describes_the_control_endpoints_in_the_schema(db):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in (
        "/api/agents/{id}/start",
        "/api/agents/{id}/stop",
        "/api/agents/{id}/heartbeat",
        "/api/jobs/{id}/cancel",
        "/api/jobs/watchdog",
    ):
        assert "post" in paths[path], path
    watchdog = paths["/api/jobs/watchdog"]["post"]["responses"]["200"]
    assert watchdog["content"]["application/json"]["schema"]["$ref"].endswith("WatchdogReport")
