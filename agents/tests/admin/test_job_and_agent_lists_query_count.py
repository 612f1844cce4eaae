"""The jobs, agents and events lists cost the same number of queries for 5 rows as for 100."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Role
from tests.factories import AgentFactory, JobFactory

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _grow(world, start: int, count: int) -> None:
    for i in range(start, start + count):
        job = JobFactory.create(schedule=world["schedule"], idempotency_key=f"grow-{i}")
        world["schedule"].events.create(
            organization=world["org"], kind="triggered", job=job, created_at=job.created_at
        )
        AgentFactory.create(organization=world["org"])


@pytest.mark.parametrize(
    "url", ["/app/agents/job/", "/app/agents/agent/", "/app/schedules/scheduleevent/"]
)
def test_it_lists_with_a_constant_number_of_queries(url, acme, staff_client):
    client = staff_client(acme["org"], Role.OPERATOR)
    _grow(acme, 0, 4)
    few = _queries(client, url)
    _grow(acme, 4, 95)
    assert _queries(client, url) == few
