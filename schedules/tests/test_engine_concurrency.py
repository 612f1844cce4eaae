"""Exactly once under real concurrency: 8 evaluators (threads, each with its own PostgreSQL
connection) over 1,000 due schedules — full ticks with the executor lease switched off, full
ticks with it on, and organization-scoped manual executions that never take it — so row locks
(`FOR UPDATE SKIP LOCKED`) and the unique idempotency key are what is tested."""

import threading
from collections import Counter

import pytest
from django.db import connection

from agents.dispatch import agent_queue
from agents.models import Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import Schedule, ScheduleEvent
from tests.factories import AgentFactory, OrganizationFactory, ScheduleFactory, ScriptFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

N_ORGS, PER_ORG = 10, 100


@pytest.fixture
def due_schedules(now):
    agents = []
    for _ in range(N_ORGS):
        org = OrganizationFactory(billing_status="active")
        agent = AgentFactory(organization=org, status="online", last_heartbeat_at=now)
        script = ScriptFactory(organization=org)
        agents.append(agent)
        for _ in range(PER_ORG):
            ScheduleFactory(
                organization=org,
                agent=agent,
                script=script,
                cron_expression="0 14 * * *",
                next_run_at=now.replace(second=0),
            )
    return agents


def test_it_dispatches_every_due_occurrence_exactly_once(
    now, due_schedules, settings, redis_client
) -> None:
    settings.TICK_BATCH_SIZE = 25  # many small batches: the evaluators interleave
    org_ids = list(Schedule.objects.values_list("organization_id", flat=True).distinct())
    start = threading.Barrier(8)
    reports: dict[str, list[dict]] = {}
    crashes: list[BaseException] = []

    def evaluator(name, **kwargs):
        try:
            start.wait()
            mine = reports.setdefault(name, [])
            for _ in range(40):
                report = report_json(run_tick(now=now, **kwargs))
                mine.append(report)
                if (
                    not report["triggeredSchedules"]
                    and not report["skipped"]
                    and not report["errors"]
                ):
                    break
        except BaseException as exc:  # surfaced below
            crashes.append(exc)
        finally:
            connection.close()

    plans = (
        [(f"tick-nolease-{i}", {"use_executor_lock": False}) for i in range(4)]
        + [(f"tick-lease-{i}", {"use_executor_lock": True}) for i in range(2)]
        + [
            (f"manual-org-{i}", {"use_executor_lock": False, "organization_id": org_ids[i]})
            for i in range(2)
        ]
    )
    threads = [threading.Thread(target=evaluator, args=(name,), kwargs=kw) for name, kw in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not crashes, crashes

    # Every due occurrence dispatched exactly once, none missed.
    jobs = list(Job.objects.values_list("schedule_id", "scheduled_for"))
    assert len(jobs) == N_ORGS * PER_ORG
    assert len({sid for sid, _ in jobs}) == N_ORGS * PER_ORG
    assert {at for _, at in jobs} == {now.replace(second=0)}
    assert not Schedule.objects.filter(next_run_at__lte=now).exists()
    assert ScheduleEvent.objects.filter(kind="triggered").count() == N_ORGS * PER_ORG

    all_reports = [r for rs in reports.values() for r in rs]
    triggered = Counter(t["scheduleId"] for r in all_reports for t in r["triggeredSchedules"])
    assert len(triggered) == N_ORGS * PER_ORG and set(triggered.values()) == {1}
    # No error other than lock contention (a skip) or the lease (an error).
    assert {s["reason"] for r in all_reports for s in r["skipped"]} <= {"lock_contention"}
    assert {e["code"] for r in all_reports for e in r["errors"]} <= {"executor_locked"}
    # The evaluators really overlapped: the work was split between several of them.
    workers = {name for name, rs in reports.items() if any(r["triggeredSchedules"] for r in rs)}
    contention = sum(1 for r in all_reports for s in r["skipped"])
    print(f"\nevaluators that dispatched: {sorted(workers)}; lock_contention skips: {contention}")
    assert len(workers) >= 2

    # Exactly one broker message per job.
    queued = sum(redis_client.llen(agent_queue(a.id)) for a in due_schedules)
    assert queued == N_ORGS * PER_ORG
    redis_client.delete(*[agent_queue(a.id) for a in due_schedules])
