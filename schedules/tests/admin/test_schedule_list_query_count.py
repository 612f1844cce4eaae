"""The schedules list renders 1,000 schedules with the same number of queries as 10: script
and agent are joined, everything else on a row is computed from the row itself."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Role
from schedules import cron
from schedules.models import Schedule
from tests.factories import AgentFactory, ScriptFactory

pytestmark = pytest.mark.django_db

URL = "/app/schedules/schedule/"
EXPRESSIONS = ["*/5 * * * *", "30 2 * * *", "0 9 * * MON-FRI", "0 18 L * *", "0 9 * * MON#1"]
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo", "Australia/Sydney"]


def _make_schedules(org, count: int, start: int = 0) -> None:
    agents = [AgentFactory.create(organization=org) for _ in range(3)]
    scripts = [ScriptFactory.create(organization=org) for _ in range(3)]
    now = timezone.now()
    rows = []
    for i in range(start, start + count):
        expression, zone = EXPRESSIONS[i % 5], ZONES[(i // 5) % 5]
        enabled = i % 7 != 0
        rows.append(
            Schedule(
                organization=org,
                name=f"Schedule {i:04d}",
                script=scripts[i % 3],
                agent=agents[i % 3],
                cron_expression=expression,
                timezone=zone,
                enabled=enabled,
                paused_note="" if enabled else "portal freeze",
                next_run_at=cron.next_after(expression, zone, now) if enabled else None,
                last_run_at=now if i % 2 else None,
                last_run_status=["succeeded", "failed", "timed_out", ""][i % 4],
                vault_keys=["SAP_PASSWORD"] if i % 3 == 0 else [],
            )
        )
    Schedule.objects.bulk_create(rows)


def _render(client) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), response.content


@pytest.fixture
def one_page_of_1000(monkeypatch):
    monkeypatch.setattr(admin.site._registry[Schedule], "list_per_page", 1000)


def test_it_renders_1000_schedules_with_as_many_queries_as_10(
    org, other_org, staff_client, one_page_of_1000
):
    client = staff_client(org, Role.OPERATOR)
    _make_schedules(org, 10)
    few, _ = _render(client)

    _make_schedules(org, 990, start=10)
    _make_schedules(other_org, 20)  # another tenant's rows change nothing
    many, content = _render(client)

    assert many == few
    assert content.count(b'name="_selected_action"') == 1000
    assert b"1000 schedules" in content or b"1000 results" in content
    assert b"Schedule 0999" in content


def test_it_renders_every_column_of_a_row(org, staff_client, one_page_of_1000):
    _make_schedules(org, 10)
    _, content = _render(staff_client(org, Role.VIEWER))
    text = content.decode()
    assert "At 02:30 AM" in text  # the cron in words
    assert "in " in text  # next run relative
    assert 'class="mimic-badge mimic-badge-good"' in text  # last run succeeded
    assert 'class="mimic-badge mimic-badge-bad"' in text  # last run failed
    assert "paused: portal freeze" in text
