"""The executor lease: two full ticks never overlap; a lease left by a dead holder is taken over
once it expires; scoped manual executions never take it."""

from datetime import timedelta

import pytest

from agents.models import Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.lease import TICK_LEASE, lease_acquire
from schedules.models import ExecutorLease, TickHeartbeat

pytestmark = pytest.mark.django_db


def test_it_reports_executor_locked_while_another_tick_holds_the_lease(now, make_due):
    make_due()
    assert lease_acquire(name=TICK_LEASE, now=now, ttl_seconds=55) is not None  # a live holder
    report = report_json(run_tick(now=now, use_executor_lock=True))
    assert report["triggeredSchedules"] == []
    assert [e["code"] for e in report["errors"]] == ["executor_locked"]
    assert not Job.objects.exists()
    assert TickHeartbeat.objects.get(name=TICK_LEASE).consecutive_lock_errors == 1


def test_it_takes_over_a_lease_left_by_a_dead_holder_once_it_expires(now, make_due):
    s = make_due()
    # A tick that crashed at 13:59:00 never released its 55 s lease.
    ExecutorLease.objects.create(
        name=TICK_LEASE,
        holder="dead",
        acquired_at=now - timedelta(seconds=65),
        expires_at=now - timedelta(seconds=10),
    )
    report = report_json(run_tick(now=now, use_executor_lock=True))
    assert report["errors"] == []
    assert Job.objects.filter(schedule=s).count() == 1
    assert not ExecutorLease.objects.exists()  # released after the tick
    assert TickHeartbeat.objects.get(name=TICK_LEASE).last_success_at == now


def test_it_does_not_take_over_a_lease_that_has_not_expired(now):
    holder = lease_acquire(name=TICK_LEASE, now=now, ttl_seconds=55)
    assert holder
    assert lease_acquire(name=TICK_LEASE, now=now + timedelta(seconds=54), ttl_seconds=55) is None
    assert lease_acquire(name=TICK_LEASE, now=now + timedelta(seconds=55), ttl_seconds=55)


def test_it_lets_scoped_executions_run_while_the_lease_is_held(now, make_due, org):
    s = make_due()
    lease_acquire(name=TICK_LEASE, now=now, ttl_seconds=55)
    report = report_json(run_tick(now=now, organization_id=org.id, use_executor_lock=False))
    assert report["errors"] == []
    assert Job.objects.filter(schedule=s).count() == 1


def _synchronous_commit():
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SHOW synchronous_commit")
        return c.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_coordination_rows_commit_without_waiting_for_the_disk_and_nothing_else_does():
    from django.db import connection, transaction

    from schedules.lease import not_waiting_for_disk

    with connection.cursor() as c:  # production's durability (the suite's server has it off)
        c.execute("SET synchronous_commit = on")
    try:
        durable = _synchronous_commit()
        assert durable == "on"
        with not_waiting_for_disk():
            assert _synchronous_commit() == "off"
        assert _synchronous_commit() == durable  # SET LOCAL: that transaction only
        with transaction.atomic(), not_waiting_for_disk():
            assert _synchronous_commit() == durable  # a caller's transaction stays the caller's
    finally:
        with connection.cursor() as c:
            c.execute("RESET synchronous_commit")
