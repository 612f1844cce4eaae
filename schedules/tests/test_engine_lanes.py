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
from schedules.models import Schedule
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
    """(thread, backend pid) of every batch the engine claimed rows for."""
    seen: list[tuple[str, int]] = []
    real = engine.schedule_due_claim

    def spy(**kw):
        rows = real(**kw)
        if rows:
            with connection.cursor() as c:
                c.execute("SELECT pg_backend_pid()")
                seen.append((threading.current_thread().name, c.fetchone()[0]))
        return rows

    monkeypatch.setattr(engine, "schedule_due_claim", spy)
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
def test_a_claim_passes_over_rows_another_evaluator_holds_and_reports_them(
    now, due, settings, redis_client, monkeypatch
):
    """Another evaluator (a connection of its own) holds ten of the due rows: the tick claims
    the fifty others in full batches — no batch is spent trying the held rows — and reports
    the ten `lock_contention`, leaving them due."""
    settings.TICK_BATCH_SIZE, settings.TICK_LANES = 10, 1
    redis_client.delete(agent_queue(due.id))
    order = list(Schedule.objects.order_by("fire_at", "id").values_list("id", flat=True))
    held = set(order[15:25])  # across a batch boundary of the walk
    locked, release = threading.Event(), threading.Event()

    def other_evaluator():
        with transaction.atomic():
            list(Schedule.objects.filter(id__in=held).select_for_update())
            locked.set()
            release.wait(30)
        connection.close()

    claims = []
    real = engine.schedule_due_claim

    def claim(**kw):
        rows = real(**kw)
        claims.append(len(rows))
        return rows

    monkeypatch.setattr(engine, "schedule_due_claim", claim)
    holder = threading.Thread(target=other_evaluator)
    holder.start()
    try:
        assert locked.wait(30)
        report = report_json(engine.run_tick(now=now, use_executor_lock=True))
    finally:
        release.set()
        holder.join()

    assert {t["scheduleId"] for t in report["triggeredSchedules"]} == {
        str(pk) for pk in order if pk not in held
    }
    assert sorted(s["scheduleId"] for s in report["skipped"]) == sorted(str(pk) for pk in held)
    assert {s["reason"] for s in report["skipped"]} == {"lock_contention"}
    assert claims == [10, 10, 10, 10, 10, 0]  # five full batches, then nothing left
    assert Schedule.objects.filter(id__in=held, next_run_at__lte=now).count() == 10
    assert redis_client.llen(agent_queue(due.id)) == N - 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("force", [False, True], ids=["due", "forced"])
def test_a_named_schedule_another_evaluator_holds_is_reported_lock_contention(
    now, due, redis_client, force
):
    target = Schedule.objects.order_by("id").first()
    locked, release = threading.Event(), threading.Event()

    def other_evaluator():
        with transaction.atomic():
            list(Schedule.objects.filter(id=target.id).select_for_update())
            locked.set()
            release.wait(30)
        connection.close()

    holder = threading.Thread(target=other_evaluator)
    holder.start()
    try:
        assert locked.wait(30)
        report = report_json(
            engine.run_tick(now=now, schedule_id=target.id, force=force, use_executor_lock=False)
        )
    finally:
        release.set()
        holder.join()

    assert report["triggeredSchedules"] == [] and report["errors"] == []
    assert [(s["scheduleId"], s["reason"]) for s in report["skipped"]] == [
        (str(target.id), "lock_contention")
    ]
    assert not Job.objects.exists()
