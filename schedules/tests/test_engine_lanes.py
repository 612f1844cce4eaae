"""An evaluator works TICK_LANES batches at once, each on its own PostgreSQL connection
(schedules.engine._walk_due): every due occurrence still gets exactly one job and one message,
the batches really ran on more than one connection, and a walk inside a caller's transaction
(which other connections cannot see) keeps to one lane."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from agents.dispatch import agent_queue
from agents.models import Job
from schedules import engine
from schedules.api.serializers import report_json
from tests.factories import AgentFactory, OrganizationFactory, ScheduleFactory, ScriptFactory

N = 60


@pytest.fixture
def due(now):
    org = OrganizationFactory(billing_status="active")
    agent = AgentFactory(organization=org, status="online", last_heartbeat_at=now)
    script = ScriptFactory(organization=org)
    for _ in range(N):
        ScheduleFactory(
            organization=org,
            agent=agent,
            script=script,
            cron_expression="0 14 * * *",
            next_run_at=now.replace(second=0),
        )
    return agent


@pytest.fixture
def batches_by_connection(monkeypatch):
    """(thread, backend pid) of every batch the engine processes."""
    seen: list[tuple[str, int]] = []
    real = engine._process_batch

    def spy(ids, **kw):
        with connection.cursor() as c:
            c.execute("SELECT pg_backend_pid()")
            seen.append((threading.current_thread().name, c.fetchone()[0]))
        return real(ids, **kw)

    monkeypatch.setattr(engine, "_process_batch", spy)
    return seen


@pytest.mark.django_db(transaction=True)
def test_lanes_dispatch_every_due_occurrence_once_on_several_connections(
    now, due, settings, redis_client, batches_by_connection
):
    settings.TICK_BATCH_SIZE, settings.TICK_LANES = 5, 2
    redis_client.delete(agent_queue(due.id))

    report = report_json(engine.run_tick(now=now, use_executor_lock=True))

    assert report["errors"] == [] and report["skipped"] == []
    assert len(report["triggeredSchedules"]) == N
    per_schedule = Counter(Job.objects.values_list("schedule_id", flat=True))
    assert len(per_schedule) == N and set(per_schedule.values()) == {1}
    assert redis_client.llen(agent_queue(due.id)) == N
    assert len(batches_by_connection) == N // 5
    assert len({pid for _, pid in batches_by_connection}) == 2  # two connections
    assert len({name for name, _ in batches_by_connection}) == 2  # two threads


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_it_keeps_to_one_lane(
    now, due, settings, redis_client, batches_by_connection
):
    settings.TICK_BATCH_SIZE, settings.TICK_LANES = 5, 2
    with transaction.atomic():
        report = report_json(engine.run_tick(now=now, use_executor_lock=True))

    assert len(report["triggeredSchedules"]) == N
    assert len({pid for _, pid in batches_by_connection}) == 1
    assert Job.objects.count() == N


@pytest.mark.django_db(transaction=True)
def test_due_rows_are_read_ahead_four_batches_at_a_time(
    now, due, settings, redis_client, monkeypatch, batches_by_connection
):
    settings.TICK_BATCH_SIZE, settings.TICK_LANES = 10, 2
    reads = []
    real_read = engine.schedule_due_page

    def read(**kw):
        reads.append(kw["size"])
        return real_read(**kw)

    monkeypatch.setattr(engine, "schedule_due_page", read)
    redis_client.delete(agent_queue(due.id))

    report = report_json(engine.run_tick(now=now, use_executor_lock=True))

    assert report["errors"] == [] and len(report["triggeredSchedules"]) == N
    assert Job.objects.count() == redis_client.llen(agent_queue(due.id)) == N
    # 40 rows, then the last 20 (fewer than asked: all read), for six batches of ten.
    assert reads == [40, 40]
    assert len(batches_by_connection) == 6


@pytest.mark.django_db(transaction=True)
def test_a_limit_is_counted_across_reads_ahead(now, due, settings, redis_client, monkeypatch):
    settings.TICK_BATCH_SIZE, settings.TICK_LANES = 4, 2
    reads = []
    real_read = engine.schedule_due_page
    monkeypatch.setattr(
        engine, "schedule_due_page", lambda **kw: reads.append(kw["size"]) or real_read(**kw)
    )

    report = report_json(engine.run_tick(now=now, use_executor_lock=True, limit=23))

    assert len(report["triggeredSchedules"]) == 23 == Job.objects.count()
    assert reads == [16, 7]  # four batches' worth, then what is left of the limit
