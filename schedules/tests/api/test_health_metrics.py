"""/api/health reports database, broker and the last tick; /metrics exposes the tick counters."""

import pytest
from django.utils import timezone

from schedules.engine import run_tick
from schedules.lease import TICK_LEASE, lease_acquire

pytestmark = pytest.mark.django_db


def test_it_reports_ok_with_the_age_of_the_last_tick(client):
    run_tick(now=timezone.now(), use_executor_lock=True)
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert (body["database"], body["broker"]) == ("ok", "ok")
    assert body["lastTickAgeSeconds"] is not None and body["lastTickAgeSeconds"] >= 0


def test_it_is_degraded_after_repeated_executor_lock_errors(client):
    now = timezone.now()
    lease_acquire(name=TICK_LEASE, now=now, ttl_seconds=55)
    for _ in range(3):
        run_tick(now=now, use_executor_lock=True)
    body = client.get("/api/health").json()
    assert body["status"] == "degraded"
    assert body["consecutiveExecutorLockErrors"] == 3


def test_it_counts_ticks_and_executor_lock_errors_in_metrics(client):
    now = timezone.now()
    run_tick(now=now, use_executor_lock=True)
    lease_acquire(name=TICK_LEASE, now=now, ttl_seconds=55)
    run_tick(now=now, use_executor_lock=True)
    text = client.get("/metrics").content.decode()
    assert 'mimic_ticks_total{dry_run="false",kind="full"}' in text
    assert 'mimic_tick_errors_total{code="executor_locked"}' in text
