"""The agent API (SPEC §7): a token opens only its own agent's paths; the claim is the
compare-and-swap, bound to the calling agent and the attempt, and carries only the job's
declared secrets; the heartbeat answers cancel/drop/stop; the log is redacted and bounded; the
control plane decides outcomes; an org admin rotates a token, shown once. Literal URLs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents import services
from agents.models import Agent, AgentStatus, Job, JobAttempt, JobStatus
from billing.models import Role
from tests.factories import AgentFactory, OrganizationFactory
from vault.services import vault_set

pytestmark = pytest.mark.django_db


def as_agent(agent: Agent) -> APIClient:
    """A client holding a freshly issued token of `agent` (as its runtime would)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Agent {services.agent_token_issue(agent_id=agent.id)}")
    return client


def claim(client, agent, job, **body):
    return client.post(f"/api/agents/{agent.id}/jobs/{job.id}/claim", body, format="json")


@pytest.fixture
def other_agent(org):
    return AgentFactory(organization=org)


# ------------------------------------------------------------------------- tokens


def test_it_refuses_a_missing_or_wrong_token_on_every_agent_route(agent, make_job):
    job = make_job()
    routes = ["heartbeat", *(f"jobs/{job.id}/{verb}" for verb in ("claim", "log", "finish"))]
    for headers in ({}, {"HTTP_AUTHORIZATION": "Agent not-the-token"}):
        for route in routes:
            response = APIClient().post(f"/api/agents/{agent.id}/{route}", {}, **headers)
            assert response.status_code == 401, (route, headers)
            assert response["WWW-Authenticate"] == "Agent"


def test_agent_b_cannot_act_as_agent_a(agent, other_agent, make_job):
    job = make_job()  # agent A's
    b = as_agent(other_agent)
    # B's token on A's paths: 401, whatever the route.
    assert b.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json").status_code == 401
    for verb in ("claim", "log", "finish"):
        response = b.post(f"/api/agents/{agent.id}/jobs/{job.id}/{verb}", {}, format="json")
        assert response.status_code == 401, verb
    # B's token on its own paths naming A's job: 404, nothing changed.
    assert claim(b, other_agent, job).status_code == 404
    log = {"attempt": 1, "chunk": "x"}
    assert (
        b.post(f"/api/agents/{other_agent.id}/jobs/{job.id}/log", log, format="json").status_code
        == 404
    )
    finish = {"attempt": 1, "exitCode": 0}
    assert (
        b.post(
            f"/api/agents/{other_agent.id}/jobs/{job.id}/finish", finish, format="json"
        ).status_code
        == 404
    )
    # B's heartbeat claiming A's running job keeps nothing of it alive: it is told to drop it.
    job.status, job.started_at = JobStatus.RUNNING, timezone.now() - timedelta(minutes=5)
    job.heartbeat_at = job.started_at
    job.save()
    answer = b.post(
        f"/api/agents/{other_agent.id}/heartbeat",
        {"running": [{"jobId": str(job.id), "attempt": 1}]},
        format="json",
    ).json()
    assert answer["drop"] == [str(job.id)]
    job.refresh_from_db()
    assert (job.status, job.heartbeat_at) == (JobStatus.RUNNING, job.started_at)


def test_a_rotated_token_stops_working_at_once(org, agent, client_for):
    old = as_agent(agent)
    assert old.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json").status_code == 200
    response = client_for(org, Role.ADMIN).post(f"/api/agents/{agent.id}/token")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    env = body["runtimeEnvironment"]
    assert env["MIMIC_AGENT_ID"] == str(agent.id) and env["MIMIC_AGENT_TOKEN"] == body["token"]
    assert env["MIMIC_BROKER_URL"] == body["brokerUrl"] and env["MIMIC_URL"]
    assert old.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json").status_code == 401
    new = APIClient()
    new.credentials(HTTP_AUTHORIZATION=f"Agent {body['token']}")
    assert new.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json").status_code == 200
    # Only its hash is kept; the agent's own page never shows it again.
    agent_page = client_for(org, Role.ADMIN).get(f"/api/agents/{agent.id}/").content.decode()
    assert body["token"] not in agent_page


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_only_an_org_admin_rotates_a_token(org, agent, client_for, role):
    before = Agent.objects.get(id=agent.id).token_hash
    assert client_for(org, role).post(f"/api/agents/{agent.id}/token").status_code == 403
    assert Agent.objects.get(id=agent.id).token_hash == before


def test_another_organizations_agent_token_cannot_be_rotated(org, client_for):
    theirs = AgentFactory(organization=OrganizationFactory())
    assert client_for(org, Role.OWNER).post(f"/api/agents/{theirs.id}/token").status_code == 404


# ------------------------------------------------------------------------- claim


def test_the_claim_carries_the_script_variables_and_only_the_declared_secrets(org, agent, make_job):
    vault_set(organization=org, key="PORTAL_PASSWORD", value="declared-s3cret-value")
    vault_set(organization=org, key="OTHER_PASSWORD", value="undeclared-s3cret-value")
    job = make_job(
        variables={"region": "eu"}, vault_keys=["PORTAL_PASSWORD"], max_runtime_minutes=7
    )
    response = claim(as_agent(agent), agent, job, worker="agent-x@host")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["secrets"] == {"PORTAL_PASSWORD": "declared-s3cret-value"}
    assert "undeclared-s3cret-value" not in response.content.decode()
    assert body["variables"] == {"region": "eu"}
    assert body["script"] == {"runtime": "python", "source": "print('hi')", "version": 1}
    assert body["job"]["id"] == str(job.id) and body["job"]["attempt"] == 1
    assert body["job"]["maxRuntimeSeconds"] == 7 * 60
    job.refresh_from_db()
    assert (job.status, job.worker_hostname) == (JobStatus.RUNNING, "agent-x@host")


def test_a_second_claim_of_one_attempt_is_a_conflict(agent, make_job):
    job = make_job()
    client = as_agent(agent)
    assert claim(client, agent, job).status_code == 200
    second = claim(client, agent, job)
    assert second.status_code == 409 and "secrets" not in second.json()
    assert JobAttempt.objects.filter(job=job).count() == 1


def test_a_retry_is_not_claimable_before_its_delay(agent, make_job):
    job = make_job(
        status=JobStatus.RETRYING,
        attempt=2,
        max_attempts=3,
        retry_at=timezone.now() + timedelta(minutes=5),
    )
    assert claim(as_agent(agent), agent, job).status_code == 409
    assert Job.objects.get(id=job.id).status == JobStatus.RETRYING


def test_a_job_past_its_start_deadline_is_refused_at_the_claim_and_canceled(agent, make_job):
    # A message picked up late (SPEC §14): the run is not started late.
    job = make_job(start_deadline_at=timezone.now() - timedelta(minutes=2))
    response = claim(as_agent(agent), agent, job)
    assert response.status_code == 409 and "secrets" not in response.json()
    assert response.json()["code"] == "start_deadline_exceeded"
    job.refresh_from_db()
    assert (job.status, job.error_kind) == (JobStatus.CANCELED, "start_deadline_exceeded")
    assert job.started_at is None and job.finished_at is not None
    assert not JobAttempt.objects.filter(job=job).exists()


def test_a_job_within_its_start_deadline_is_claimed(agent, make_job):
    job = make_job(
        status=JobStatus.PENDING, start_deadline_at=timezone.now() + timedelta(minutes=5)
    )
    assert claim(as_agent(agent), agent, job).status_code == 200
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING


def test_a_retry_is_claimed_past_the_start_deadline_of_its_first_attempt(agent, make_job):
    # Its first attempt started in time: the deadline is about the scheduled start only.
    past = timezone.now() - timedelta(minutes=30)
    job = make_job(
        status=JobStatus.RETRYING,
        attempt=2,
        max_attempts=3,
        retry_at=past,
        started_at=past,
        start_deadline_at=past + timedelta(minutes=1),
    )
    assert claim(as_agent(agent), agent, job).status_code == 200
    assert Job.objects.get(id=job.id).status == JobStatus.RUNNING


def test_a_finished_job_past_its_start_deadline_stays_as_it_was(agent, make_job):
    job = make_job(
        status=JobStatus.SUCCEEDED, start_deadline_at=timezone.now() - timedelta(minutes=2)
    )
    response = claim(as_agent(agent), agent, job)
    assert (response.status_code, response.json()["code"]) == (409, "taken")
    assert Job.objects.get(id=job.id).status == JobStatus.SUCCEEDED


def test_a_declared_secret_deleted_after_dispatch_fails_the_job_at_the_claim(agent, make_job):
    job = make_job(vault_keys=["GONE_PASSWORD"])
    response = claim(as_agent(agent), agent, job)
    assert response.status_code == 409 and "GONE_PASSWORD" in response.json()["detail"]
    job.refresh_from_db()
    assert (job.status, job.error_kind) == (JobStatus.FAILED, "vault_key_missing")


# ------------------------------------------------------------------------- heartbeat


def test_the_heartbeat_keeps_running_attempts_alive_and_answers_cancel_and_drop(agent, make_job):
    now = timezone.now()
    old = now - timedelta(minutes=1)
    running = make_job(status=JobStatus.RUNNING, started_at=old, heartbeat_at=old)
    canceled = make_job(
        status=JobStatus.RUNNING, started_at=old, heartbeat_at=old, cancel_requested_at=now
    )
    retried = make_job(status=JobStatus.RETRYING, attempt=2, max_attempts=2)  # attempt 1 lost
    body = {"running": [{"jobId": str(j.id), "attempt": 1} for j in (running, canceled, retried)]}
    answer = as_agent(agent).post(f"/api/agents/{agent.id}/heartbeat", body, format="json")
    assert answer.status_code == 200, answer.content
    answer = answer.json()
    assert answer["cancel"] == [str(canceled.id)]
    assert answer["drop"] == [str(retried.id)]
    assert answer["stop"] is False and answer["status"] == AgentStatus.ONLINE
    assert answer["fenceAfterSeconds"] > 0 and answer["heartbeatSeconds"] > 0
    running.refresh_from_db()
    assert running.heartbeat_at > old
    agent.refresh_from_db()
    assert agent.status == AgentStatus.ONLINE and agent.last_heartbeat_at >= now


def test_a_stop_request_is_answered_then_cleared_when_the_runtime_says_it_stopped(agent):
    client = as_agent(agent)
    client.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json")
    services.agent_request_stop(agent_id=agent.id, now=timezone.now())
    answer = client.post(f"/api/agents/{agent.id}/heartbeat", {}, format="json").json()
    assert answer["stop"] is True
    client.post(f"/api/agents/{agent.id}/heartbeat", {"stopped": True}, format="json")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.STOPPED and agent.stop_requested_at is None


def test_a_malformed_heartbeat_is_a_400_naming_the_field(agent):
    response = as_agent(agent).post(
        f"/api/agents/{agent.id}/heartbeat",
        {"running": [{"jobId": "x", "attempt": 0}]},
        format="json",
    )
    assert response.status_code == 400
    assert "running" in response.json()


# ------------------------------------------------------------------------- log and finish


def test_the_log_is_redacted_and_appended_while_the_job_runs(org, agent, make_job):
    vault_set(organization=org, key="PORTAL_PASSWORD", value="hunter2-s3cret")
    job = make_job(vault_keys=["PORTAL_PASSWORD"])
    client = as_agent(agent)
    claim(client, agent, job)
    url = f"/api/agents/{agent.id}/jobs/{job.id}/log"
    assert (
        client.post(
            url, {"attempt": 1, "chunk": "login hunter2-s3cret\n"}, format="json"
        ).status_code
        == 204
    )
    assert client.post(url, {"attempt": 1, "chunk": "done\n"}, format="json").status_code == 204
    assert Job.objects.get(id=job.id).log == "login [REDACTED:PORTAL_PASSWORD]\ndone\n"
    # Another attempt's runner (a stale one) is told it no longer owns the job.
    assert client.post(url, {"attempt": 2, "chunk": "late\n"}, format="json").status_code == 409


@pytest.mark.parametrize(
    ("exit_code", "status"),
    [
        (0, JobStatus.SUCCEEDED),
        (75, JobStatus.RETRYING),
        (77, JobStatus.FAILED),
        (1, JobStatus.FAILED),
    ],
)
def test_the_control_plane_decides_the_outcome(agent, make_job, exit_code, status):
    job = make_job(max_attempts=2)
    client = as_agent(agent)
    claim(client, agent, job)
    url = f"/api/agents/{agent.id}/jobs/{job.id}/finish"
    response = client.post(url, {"attempt": 1, "exitCode": exit_code}, format="json")
    assert response.status_code == 200 and response.json() == {"status": status}
    assert Job.objects.get(id=job.id).status == status
    # Reported twice: the second is a conflict, nothing changes.
    again = client.post(url, {"attempt": 1, "exitCode": 0}, format="json")
    assert again.status_code == 409
    assert Job.objects.get(id=job.id).status == status


def test_an_agents_start_error_is_redacted_before_it_is_stored(org, agent, make_job):
    vault_set(organization=org, key="PORTAL_PASSWORD", value="hunter2-s3cret")
    job = make_job(vault_keys=["PORTAL_PASSWORD"])
    client = as_agent(agent)
    claim(client, agent, job)
    body = {"attempt": 1, "exitCode": None, "error": "could not start: hunter2-s3cret"}
    response = client.post(f"/api/agents/{agent.id}/jobs/{job.id}/finish", body, format="json")
    assert response.json() == {"status": JobStatus.FAILED}
    job.refresh_from_db()
    assert job.error_kind == "spawn_failed"
    assert "hunter2-s3cret" not in job.error_message
    assert "[REDACTED:PORTAL_PASSWORD]" in job.error_message
