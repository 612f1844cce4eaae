"""Jobs: read-only, filterable, in the SPEC §6 shape; logs with every attempt."""

from __future__ import annotations

import pytest

from agents.models import JobAttempt
from tests.factories import AgentFactory, JobFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

JOB_FIELDS = {
    "id",
    "scheduleId",
    "scriptId",
    "scriptVersion",
    "agentId",
    "trigger",
    "scheduledFor",
    "status",
    "attempt",
    "maxAttempts",
    "retryAt",
    "createdAt",
    "queuedAt",
    "startedAt",
    "startDeadlineAt",
    "finishedAt",
    "exitCode",
    "errorKind",
    "errorMessage",
}


def test_it_shows_a_job_in_the_spec_shape(api, org):
    job = JobFactory(
        schedule=ScheduleFactory(organization=org),
        status="failed",
        exit_code=3,
        error_kind="exit_code",
        error_message="boom",
        scheduled_for="2026-11-26T14:00:00Z",
    )

    data = api.get(f"/api/jobs/{job.id}/").json()

    assert JOB_FIELDS <= set(data)
    assert data["scheduleId"] == str(job.schedule_id)
    assert data["scheduledFor"] == "2026-11-26T14:00:00Z"
    assert (data["status"], data["exitCode"], data["errorKind"]) == ("failed", 3, "exit_code")
    assert "scriptSource" not in data and "log" not in data


def test_it_shows_the_start_deadline_as_a_utc_instant(api, org):
    """SPEC §14: the instant by which the job must have started; null when it has none."""
    schedule = ScheduleFactory(organization=org)
    job = JobFactory(
        schedule=schedule,
        scheduled_for="2026-11-26T14:00:00Z",
        start_deadline_at="2026-11-26T14:15:00+00:00",
    )
    manual = JobFactory(schedule=schedule, start_deadline_at=None)

    assert api.get(f"/api/jobs/{job.id}/").json()["startDeadlineAt"] == "2026-11-26T14:15:00Z"
    assert api.get(f"/api/jobs/{manual.id}/").json()["startDeadlineAt"] is None


def test_it_filters_jobs(api, org):
    schedule = ScheduleFactory(organization=org)
    agent = AgentFactory(organization=org)
    match = JobFactory(schedule=schedule, agent=agent, status="failed", trigger="manual")
    JobFactory(schedule=schedule, agent=agent, status="succeeded", trigger="manual")
    JobFactory(schedule=schedule, status="failed", trigger="manual")
    JobFactory(schedule=ScheduleFactory(organization=org), agent=agent, status="failed")

    response = api.get(
        f"/api/jobs/?scheduleId={schedule.id}&agentId={agent.id}&status=failed&trigger=manual"
    )

    assert response.status_code == 200
    assert [j["id"] for j in response.json()["results"]] == [str(match.id)]


@pytest.mark.parametrize("query", ["status=exploded", "trigger=cosmic", "scheduleId=1"])
def test_it_rejects_bad_job_filters(api, query):
    response = api.get(f"/api/jobs/?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [query.split("=")[0]]


def test_it_is_read_only(api, org):
    job = JobFactory(schedule=ScheduleFactory(organization=org))

    assert api.post("/api/jobs/", {}, format="json").status_code == 405
    assert api.patch(f"/api/jobs/{job.id}/", {"status": "x"}, format="json").status_code == 405
    assert api.delete(f"/api/jobs/{job.id}/").status_code == 405


def test_it_shows_the_log_and_every_attempt(api, org):
    job = JobFactory(schedule=ScheduleFactory(organization=org), log="second try ok", attempt=2)
    JobAttempt.objects.create(
        job=job,
        number=2,
        status="succeeded",
        exit_code=0,
        log="second try ok",
        started_at="2026-11-26T14:05:00Z",
        finished_at="2026-11-26T14:06:00Z",
    )
    JobAttempt.objects.create(
        job=job,
        number=1,
        status="retrying",
        exit_code=75,
        error_kind="transient",
        error_message="portal busy",
        log="first try",
        started_at="2026-11-26T14:00:00Z",
        finished_at="2026-11-26T14:01:00Z",
    )

    response = api.get(f"/api/jobs/{job.id}/log")

    assert response.status_code == 200
    data = response.json()
    assert data["jobId"] == str(job.id)
    assert data["log"] == "second try ok"
    first, second = data["attempts"]
    assert first == {
        "number": 1,
        "status": "retrying",
        "startedAt": "2026-11-26T14:00:00Z",
        "finishedAt": "2026-11-26T14:01:00Z",
        "exitCode": 75,
        "errorKind": "transient",
        "errorMessage": "portal busy",
        "log": "first try",
    }
    assert (second["number"], second["errorKind"]) == (2, None)
