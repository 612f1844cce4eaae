"""A schedule's page shows its runtime statistics over the last 30 days and a chart of its
recent finished runs (SPEC §14); the schedules list a sparkline of each row's last outcomes, in
a constant number of queries whatever the number of schedules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import JobStatus
from billing.models import Role
from schedules.tests.conftest import NOW
from schedules.tests.test_stats import seed_jobs
from tests.factories import JobFactory, ScheduleFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("control_plane_clock_is_time_machines", "frozen_now"),
]

LIST = "/app/schedules/schedule/"


def _stat(text: str, name: str) -> str:
    found = re.search(rf'<dd data-stat="{name}">([^<]*)</dd>', text)
    assert found, name
    return found.group(1)


def test_it_shows_the_figures_and_a_bar_per_finished_run(org, staff_client):
    schedule = ScheduleFactory(organization=org)
    seed_jobs(schedule)
    response = staff_client(org, Role.VIEWER).get(f"{LIST}{schedule.pk}/change/")
    text = response.content.decode()
    assert "Runs (last 30 days)" in text
    assert _stat(text, "runs") == "13"
    assert _stat(text, "success rate") == "64%"  # 7 of 11
    assert _stat(text, "p50 duration") == "55s"
    assert _stat(text, "p95 duration") == "9m 50s"  # 590.5 s
    assert _stat(text, "p50 queue wait") == "4.5s"
    assert _stat(text, "suggested max runtime") == "15 min"
    # 11 finished runs (the running and the held one are not), oldest left.
    statuses = re.findall(r'<rect class="mimic-run [^"]*" data-status="(\w+)"', text)
    assert statuses == ["canceled", "lost", "timed_out", "failed", *["succeeded"] * 7]
    assert "<title>2026-11-26 13:00:06 UTC · 10s · succeeded</title>" in text


def test_it_says_so_for_a_schedule_that_never_ran(org, staff_client):
    schedule = ScheduleFactory(organization=org)
    text = staff_client(org, Role.VIEWER).get(f"{LIST}{schedule.pk}/change/").content.decode()
    assert _stat(text, "runs") == "0"
    assert _stat(text, "success rate") == "—"
    assert _stat(text, "suggested max runtime") == "—"
    assert "No finished runs yet." in text


def _list(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def _schedules_with_runs(org, count: int) -> None:
    for _ in range(count):
        schedule = ScheduleFactory(organization=org)
        for i, status in enumerate([JobStatus.FAILED] + [JobStatus.SUCCEEDED] * 11):
            JobFactory(schedule=schedule, status=status, created_at=NOW - timedelta(hours=i))


def test_the_list_draws_the_last_ten_outcomes_in_constant_queries(org, staff_client):
    client = staff_client(org, Role.VIEWER)
    _schedules_with_runs(org, 5)
    few, text = _list(client)
    _schedules_with_runs(org, 45)
    many, text = _list(client)
    assert many == few
    sparklines = re.findall(r'<svg class="mimic-sparkline".*?</svg>', text)
    assert len(sparklines) == 50
    # The last ten of twelve, oldest first: nine successes, then the newest, a failure.
    assert re.findall(r'data-status="(\w+)"', sparklines[0]) == ["succeeded"] * 9 + ["failed"]
    assert 'aria-label="last 10 runs: 9 succeeded, 1 failed"' in sparklines[0]
