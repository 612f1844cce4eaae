"""The executor lease: two full ticks never overlap; a lease left by a dead holder is taken over
once it expires; scoped manual executions never take it."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from agents.models import Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.lease import TICK_LEASE, commit_not_waiting_for_disk, lease_acquire
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


@pytest.fixture
def durable_session():
    """Production's durability on the session (the suite's server has it off)."""
    with connection.cursor() as c:
        c.execute("SET synchronous_commit = on")
    yield
    with connection.cursor() as c:
        c.execute("RESET synchronous_commit")


@pytest.mark.django_db(transaction=True)
def test_the_coordination_rows_commit_without_waiting_for_the_disk_and_nothing_else_does(
    durable_session,
):
    setting = ("SELECT current_setting('synchronous_commit'), %s::int", [7])
    with CaptureQueriesContext(connection) as q:
        assert commit_not_waiting_for_disk([setting]) == [("off", 7)]
    assert len(q.captured_queries) == 1  # one round trip
    assert _synchronous_commit() == "on"  # that transaction only
    with transaction.atomic():  # a caller's transaction stays the caller's
        assert commit_not_waiting_for_disk([setting]) == [("on", 7)]


@pytest.mark.django_db(transaction=True)
def test_its_statements_are_one_transaction():
    insert = (
        "INSERT INTO schedules_tickheartbeat (name, consecutive_lock_errors) VALUES (%s, 0)",
        ["probe"],
    )
    with pytest.raises(IntegrityError):
        commit_not_waiting_for_disk([insert, insert])  # the second hits the primary key
    assert not TickHeartbeat.objects.filter(name="probe").exists()  # the first rolled back


@pytest.mark.django_db(transaction=True)
def test_an_idle_tick_is_three_round_trips_and_leaves_the_session_durable(now, durable_session):
    with CaptureQueriesContext(connection) as q:
        report = run_tick(now=now, use_executor_lock=True)
    assert not report.errors
    sent = [query["sql"] for query in q.captured_queries]
    # The lease; the question of what to do; the heartbeat with the lease's release.
    assert len(sent) == 3, sent
    assert "set_config('synchronous_commit', 'off', true)" in sent[0]
    assert "schedules_executorlease" in sent[0] and sent[1].count("EXISTS") == 4
    assert "schedules_tickheartbeat" in sent[2] and "DELETE FROM" in sent[2]
    assert TickHeartbeat.objects.get(name=TICK_LEASE).last_success_at == now
    assert not ExecutorLease.objects.exists()
    assert _synchronous_commit() == "on"
