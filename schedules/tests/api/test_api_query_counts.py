"""Every list endpoint answers with a constant number of queries whatever the page size: no
query per row (references are ids read from the row, vault names are one query per page) — and
that number is pinned (QUERIES), so a query added to every page of a list is a decision made
here, in review, not a drift found by benchmarks/bench_api.py."""

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


# Queries per page, the caller already authenticated (a token adds none: its lookup reads the
# memberships too, billing/tenancy_auth.py). Each list asks the caller's memberships (1), counts
# (1) and reads the page (1); then:
QUERIES = {
    "/api/schedules/": 5,  # + the page's calendar ids, + the page's organizations' vault names
    # No seeded schedule has failed: the count is 0 and no page is read.
    "/api/schedules/?enabled=true&lastRunStatus=failed": 2,
    "/api/agents/": 3,
    "/api/scripts/": 3,
    "/api/jobs/": 3,
    "/api/jobs/?status=succeeded&trigger=scheduled": 3,
    "/api/schedules/{schedule}/events/": 4,  # + the schedule, scoped (404 for another org's)
    "/api/schedules/{schedule}/jobs/": 4,  # + the schedule, scoped
    "/api/vault/": 3,
}
LISTS = list(QUERIES)


@pytest.mark.parametrize("url", LISTS)
def test_it_lists_with_a_constant_number_of_queries(api, org, django_assert_num_queries, url):
    schedule = ScheduleFactory.create(organization=org)
    pinned = QUERIES[url]
    url = url.format(schedule=schedule.id)
    sep = "&" if "?" in url else "?"
    seed(org, 3, schedule)
    with CaptureQueriesContext(connection) as few:
        small = api.get(f"{url}{sep}pageSize=500")
    assert small.status_code == 200, small.content

    assert len(few.captured_queries) == pinned, [q["sql"] for q in few.captured_queries]

    seed(org, 57, schedule, start=3)
    with django_assert_num_queries(len(few.captured_queries)):
        large = api.get(f"{url}{sep}pageSize=500")

    assert large.status_code == 200
    if "?" not in url:
        assert large.json()["count"] >= 60
        assert len(large.json()["results"]) == large.json()["count"]


def test_a_token_costs_no_query_of_its_own(org, client_for, django_assert_num_queries):
    """A script's token is looked up with its user's memberships: one query for both."""
    schedule = ScheduleFactory.create(organization=org)
    seed(org, 3, schedule)
    script = client_for(org, "viewer", token=True)

    with django_assert_num_queries(QUERIES["/api/schedules/"]):
        assert script.get("/api/schedules/").status_code == 200


def test_a_schedule_is_read_in_three_queries(org, client_for, django_assert_num_queries):
    """The token with the memberships, the schedule, its calendar ids — and the vault names
    only when it names vault keys. The object permission takes the role the request already
    resolved."""
    plain = ScheduleFactory.create(organization=org)
    keyed = ScheduleFactory.create(organization=org, vault_keys=["API_KEY"])
    script = client_for(org, "viewer", token=True)

    with django_assert_num_queries(3):
        assert script.get(f"/api/schedules/{plain.id}/").status_code == 200
    with django_assert_num_queries(4):
        body = script.get(f"/api/schedules/{keyed.id}/").json()
    assert body["missingVaultKeys"] == ["API_KEY"]
