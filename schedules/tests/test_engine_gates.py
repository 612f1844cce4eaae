"""Each gate through the real engine and database: a passing and a blocking case, with the
reason and detail in the report and a recorded event; force bypasses only "not due" and the
idempotency window."""

from datetime import timedelta

import pytest

from agents.models import AgentStatus, Job, JobStatus
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import ScheduleEvent
from tests.factories import JobFactory
from vault.services import vault_set

pytestmark = pytest.mark.django_db


def tick(now, **kw):
    kw.setdefault("use_executor_lock", False)
    return report_json(run_tick(now=now, **kw))


def only_skip(report):
    assert report["triggeredSchedules"] == []
    assert len(report["skipped"]) == 1, report
    return report["skipped"][0]


def test_it_dispatches_a_due_schedule_and_writes_metadata(now, make_due):
    s = make_due()
    report = tick(now)
    assert [t["scheduleId"] for t in report["triggeredSchedules"]] == [str(s.id)]
    job = Job.objects.get(schedule=s)
    assert job.status == JobStatus.QUEUED  # published to the real broker
    assert job.scheduled_for == now.replace(second=0)
    assert job.idempotency_key == f"{s.id}:2026-11-26T14:00:00Z"
    s.refresh_from_db()
    assert s.last_run_status == "pending"
    assert s.last_run_at == now
    assert s.next_run_at == now.replace(second=0) + timedelta(days=1)
    event = ScheduleEvent.objects.get(schedule=s)
    assert (event.kind, event.job_id) == ("triggered", job.id)


def test_it_blocks_on_billing(now, make_due, org):
    s = make_due()
    org.billing_status = "suspended"
    org.save()
    skip = only_skip(tick(now))
    assert skip == {"scheduleId": str(s.id), "reason": "billing_blocked", "detail": skip["detail"]}
    assert "suspended" in skip["detail"]
    s.refresh_from_db()
    assert s.next_run_at > now  # a skipped occurrence advances nextRunAt
    assert ScheduleEvent.objects.get(schedule=s).reason == "billing_blocked"
    assert not Job.objects.exists()


def test_it_blocks_on_the_concurrency_limit(now, make_due):
    s = make_due(concurrency_limit=2)
    JobFactory(schedule=s, status=JobStatus.RUNNING)
    JobFactory(schedule=s, status=JobStatus.SUCCEEDED)  # finished jobs hold no slot
    assert tick(now)["triggeredSchedules"][0]["scheduleId"] == str(s.id)
    s.next_run_at = now.replace(second=0)
    s.save()
    skip = only_skip(tick(now + timedelta(seconds=1)))
    assert skip["reason"] == "concurrency_limit"
    assert skip["detail"] == "2 active job(s), limit 2"


def test_it_blocks_inside_the_idempotency_window(now, make_due):
    s = make_due(idempotency_window_minutes=60)
    JobFactory(schedule=s, created_at=now - timedelta(minutes=30), status=JobStatus.SUCCEEDED)
    skip = only_skip(tick(now))
    assert skip["reason"] == "idempotency_window"
    s2 = make_due(idempotency_window_minutes=20)
    JobFactory(schedule=s2, created_at=now - timedelta(minutes=30), status=JobStatus.SUCCEEDED)
    s.next_run_at = now.replace(second=0)
    s.save()
    report = tick(now)
    assert [t["scheduleId"] for t in report["triggeredSchedules"]] == [str(s2.id)]


def test_it_blocks_on_missing_vault_keys_and_names_them(now, make_due, org):
    vault_set(organization=org, key="SAP_USER", value="robot")
    s = make_due(vault_keys=["SAP_USER", "SAP_PASSWORD"])
    skip = only_skip(tick(now))
    assert skip == {
        "scheduleId": str(s.id),
        "reason": "vault_keys_missing",
        "detail": "missing: SAP_PASSWORD",
    }
    vault_set(organization=org, key="SAP_PASSWORD", value="s3cret-value")
    s.next_run_at = now.replace(second=0)
    s.save()
    assert tick(now)["triggeredSchedules"][0]["scheduleId"] == str(s.id)


def test_it_blocks_on_an_unavailable_agent(now, make_due, online_agent):
    online_agent.status = AgentStatus.STOPPED
    online_agent.save()
    s = make_due()
    skip = only_skip(tick(now))
    assert skip["reason"] == "agent_unavailable"
    assert online_agent.name in skip["detail"]
    assert ScheduleEvent.objects.get(schedule=s).reason == "agent_unavailable"


def test_it_lets_force_bypass_not_due_and_the_idempotency_window_only(now, make_due, org):
    s = make_due(idempotency_window_minutes=120, next_run_at=now + timedelta(hours=5))
    JobFactory(schedule=s, created_at=now - timedelta(minutes=1), status=JobStatus.SUCCEEDED)
    # Not due and inside the window: without force, not_due; with force, it runs.
    assert only_skip(tick(now, schedule_id=s.id))["reason"] == "not_due"
    report = tick(now, schedule_id=s.id, force=True)
    assert report["triggeredSchedules"][0]["scheduleId"] == str(s.id)
    forced = Job.objects.get(schedule=s, trigger="forced")
    s.refresh_from_db()
    assert s.next_run_at == now + timedelta(hours=5)  # a forced run does not consume the occurrence
    # ... but never billing or concurrency (the forced job is active, limit 1).
    assert only_skip(tick(now, schedule_id=s.id, force=True))["reason"] == "concurrency_limit"
    forced.status = JobStatus.SUCCEEDED
    forced.save()
    org.billing_status = "canceled"
    org.save()
    assert only_skip(tick(now, schedule_id=s.id, force=True))["reason"] == "billing_blocked"


def test_it_skips_a_paused_schedule_even_when_forced(now, make_due):
    s = make_due(enabled=False, paused_note="quarter close")
    skip = only_skip(tick(now, schedule_id=s.id, force=True))
    assert skip == {"scheduleId": str(s.id), "reason": "disabled", "detail": "quarter close"}


def test_it_stops_at_the_monthly_quota_within_a_batch_and_across_ticks(now, make_due, org):
    org.monthly_run_quota = 2
    org.save()
    first = [make_due() for _ in range(3)]
    report = tick(now)
    assert len(report["triggeredSchedules"]) == 2
    (skip,) = report["skipped"]
    assert skip["reason"] == "billing_blocked"
    assert skip["detail"] == "monthly run quota reached (2/2)"
    later = make_due()  # the counter persists: the next tick is blocked too
    report = tick(now + timedelta(seconds=30))
    assert {s["scheduleId"] for s in report["skipped"]} == {str(later.id)}
    assert Job.objects.count() == 2
    assert len(first) == 3
