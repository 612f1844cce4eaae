"""Every list endpoint answers with a constant number of queries whatever the page size: no
query per row (references are ids read from the row, vault names are one query per page)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import JobAttempt
from schedules.models import ScheduleEvent
from tests.factories import AgentFactory, JobFactory, ScheduleFactory, ScriptFactory
from vault.models import VaultEntry

pytestmark = pytest.mark.django_db


def seed(org, n: int, schedule, start: int = 0):
    """n more of everything, in `org`, around one `schedule` for the per-schedule lists."""
    for i in range(start, start + n):
        s = ScheduleFactory.create(organization=org, vault_keys=[f"KEY_{i}", "SHARED"])
        AgentFactory.create(organization=org)
        ScriptFactory.create(organization=org)
        job = JobFactory.create(schedule=schedule, agent=s.agent)
        JobAttempt.objects.create(job=job, number=1, status="succeeded")
        ScheduleEvent.objects.create(
            organization=org,
            schedule=schedule,
            kind="triggered",
            job=job,
            created_at=job.created_at,
        )
        VaultEntry.objects.create(organization=org, key=f"KEY_{i}", ciphertext="x")


LISTS = [
    "/api/schedules/",
    "/api/schedules/?enabled=true&lastRunStatus=failed",
    "/api/agents/",
    "/api/scripts/",
    "/api/jobs/",
    "/api/jobs/?status=succeeded&trigger=scheduled",
    "/api/schedules/{schedule}/events/",
    "/api/schedules/{schedule}/jobs/",
    "/api/vault/",
]


@pytest.mark.parametrize("url", LISTS)
def test_it_lists_with_a_constant_number_of_queries(api, org, django_assert_num_queries, url):
    schedule = ScheduleFactory.create(organization=org)
    url = url.format(schedule=schedule.id)
    sep = "&" if "?" in url else "?"
    seed(org, 3, schedule)
    with CaptureQueriesContext(connection) as few:
        small = api.get(f"{url}{sep}pageSize=500")
    assert small.status_code == 200, small.content

    seed(org, 57, schedule, start=3)
    with django_assert_num_queries(len(few.captured_queries)):
        large = api.get(f"{url}{sep}pageSize=500")

    assert large.status_code == 200
    if "?" not in url:
        assert large.json()["count"] >= 60
        assert len(large.json()["results"]) == large.json()["count"]
