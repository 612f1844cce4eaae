"""Batching: a tick over 10 due schedules costs exactly the queries of a tick over 200."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Job
from schedules.engine import run_tick

pytestmark = pytest.mark.django_db


def due_batch(make_due, n, **kw):
    for _ in range(n):
        make_due(**kw)


def test_it_costs_the_same_queries_for_10_and_200_due(
    now, make_due, django_assert_num_queries, org
):
    # Every gate has work to do: vault keys, an idempotency window, a quota.
    from vault.services import vault_set

    vault_set(organization=org, key="PORTAL_PASSWORD", value="pw")
    org.monthly_run_quota = 10_000
    org.save()
    kw = dict(vault_keys=["PORTAL_PASSWORD"], idempotency_window_minutes=30, concurrency_limit=2)
    due_batch(make_due, 10, **kw)
    with CaptureQueriesContext(connection) as small:
        run_tick(now=now, use_executor_lock=True)
    assert Job.objects.count() == 10

    # 200 more, due at the same minute, evaluated by the next tick (20 s later).
    later = now + timedelta(seconds=20)
    due_batch(make_due, 200, **kw)
    with django_assert_num_queries(len(small.captured_queries)):
        run_tick(now=later, use_executor_lock=True)
    assert Job.objects.count() == 210


def test_it_costs_a_constant_number_of_queries_when_nothing_is_due(
    now, make_due, django_assert_num_queries
):
    due_batch(make_due, 50, next_run_at=now.replace(hour=20))
    with CaptureQueriesContext(connection) as idle:
        run_tick(now=now, use_executor_lock=True)
    due_batch(make_due, 500, next_run_at=now.replace(hour=21))
    with django_assert_num_queries(len(idle.captured_queries)):
        run_tick(now=now, use_executor_lock=True)


def test_calendars_and_maintenance_windows_cost_the_same_queries_for_10_and_200_due(
    now, make_due, django_assert_num_queries, org, online_agent
):
    # The calendars of a batch are one join (selectors.gate_context); the windows come with
    # the agents the engine loads anyway. Some occurrences are skipped, some run.
    from tests.factories import CalendarFactory

    online_agent.maintenance_windows = [{"days": ["mon"], "start": "01:00", "end": "02:00"}]
    online_agent.save()
    elsewhere = CalendarFactory(organization=org, dates=["2026-12-25"])
    today = CalendarFactory(organization=org, dates=[{"from": "2026-11-26", "to": "2026-11-27"}])

    def due_with_calendars(n):
        for i in range(n):
            make_due().calendars.add(elsewhere, *([today] if i % 2 else []))

    due_with_calendars(10)
    with CaptureQueriesContext(connection) as small:
        report = run_tick(now=now, use_executor_lock=True)
    assert (len(report.triggered), len(report.skipped)) == (5, 5)

    later = now + timedelta(seconds=20)
    due_with_calendars(200)
    with django_assert_num_queries(len(small.captured_queries)):
        report = run_tick(now=later, use_executor_lock=True)
    assert (len(report.triggered), len(report.skipped)) == (100, 100)
