"""GET /api/schedules/{id}/stats (SPEC §14): the hand-computed figures in camelCase, nulls for
a schedule that never ran, another organization's schedule 404, and a constant number of
queries whatever the number of jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import JobStatus
from billing.models import Role
from schedules.tests.conftest import NOW
from schedules.tests.test_stats import seed_jobs
from tests.factories import ScheduleFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines", "frozen_now"),
]


def url(schedule) -> str:
    return f"/api/schedules/{schedule.id}/stats"


def test_it_answers_the_hand_computed_figures(org, client_for):
    schedule = ScheduleFactory(organization=org)
    seed_jobs(schedule)
    response = client_for(org, Role.VIEWER).get(url(schedule))
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "runs": 13,
        "successRate": 7 / 11,
        "p50DurationSeconds": 55.0,
        "p95DurationSeconds": 590.5,
        "p50QueueWaitSeconds": 4.5,
        "suggestedMaxRuntimeMinutes": 15,
    }


def test_it_answers_nulls_for_a_schedule_without_runs(org, client_for):
    schedule = ScheduleFactory(organization=org)
    response = client_for(org, Role.VIEWER).get(url(schedule))
    assert response.json() == {
        "runs": 0,
        "successRate": None,
        "p50DurationSeconds": None,
        "p95DurationSeconds": None,
        "p50QueueWaitSeconds": None,
        "suggestedMaxRuntimeMinutes": None,
    }


def test_it_hides_another_organizations_schedule(org, other_org, client_for):
    theirs = ScheduleFactory(organization=other_org)
    seed_jobs(theirs)
    assert client_for(org, Role.ADMIN).get(url(theirs)).status_code == 404


def test_it_runs_as_many_queries_for_300_jobs_as_for_3(org, client_for):
    client = client_for(org, Role.VIEWER)
    schedule = ScheduleFactory(organization=org)
    finished = [(JobStatus.SUCCEEDED, 1, 2, 30)]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(schedule))
        assert response.status_code == 200
        return len(queries)

    seed_jobs(schedule, finished * 3)
    few = count()
    seed_jobs(schedule, finished * 297, until=NOW - timedelta(hours=3))
    many = count()
    assert client.get(url(schedule)).json()["runs"] == 300
    assert many == few


def test_the_schema_describes_it(org, client_for):
    schema = client_for(org, Role.VIEWER).get("/api/schema/?format=json").json()
    answer = schema["paths"]["/api/schedules/{id}/stats"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    fields = schema["components"]["schemas"][ref]["properties"]
    assert set(fields) == {
        "runs",
        "successRate",
        "p50DurationSeconds",
        "p95DurationSeconds",
        "p50QueueWaitSeconds",
        "suggestedMaxRuntimeMinutes",
    }
    assert fields["successRate"]["nullable"] is True
