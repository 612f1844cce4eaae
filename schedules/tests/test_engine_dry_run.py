"""A dry run walks the same path and changes nothing: every table and the broker queues are
exactly as before."""

from datetime import timedelta

import pytest
from django.apps import apps

from agents.dispatch import agent_queue
from agents.models import AgentStatus, JobStatus
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from tests.factories import AgentFactory, JobFactory
from vault.services import vault_set

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        model._meta.label: sorted(map(repr, model._default_manager.order_by().values_list()))
        for model in apps.get_models()
    }


def test_it_changes_nothing_in_any_table_or_queue(now, make_due, org, online_agent, redis_client):
    offline = AgentFactory(
        organization=org, status=AgentStatus.OFFLINE, auto_start=True, controller="local"
    )
    due = make_due()
    would_start = make_due(agent=offline)
    skipped = make_due(concurrency_limit=1)
    JobFactory(schedule=skipped, status=JobStatus.RUNNING)
    missed = make_due(
        cron_expression="0 * * * *", next_run_at=now.replace(second=0) - timedelta(hours=3)
    )
    queues = [agent_queue(online_agent.id), agent_queue(offline.id)]
    before, lengths = snapshot(), [redis_client.llen(q) for q in queues]

    report = report_json(run_tick(now=now, dry_run=True))

    assert snapshot() == before
    assert [redis_client.llen(q) for q in queues] == lengths
    assert report["dryRun"] is True
    triggered = {t["scheduleId"]: t for t in report["triggeredSchedules"]}
    assert set(triggered) == {str(due.id), str(would_start.id), str(missed.id)}
    assert triggered[str(would_start.id)]["notes"] == ["agent_would_auto_start"]
    assert all(t["jobId"] is None for t in triggered.values())
    reasons = {(s["scheduleId"], s["reason"]) for s in report["skipped"]}
    assert (str(skipped.id), "concurrency_limit") in reasons
    assert (str(missed.id), "missed") in reasons


def blocked_three_ways(now, make_due, org):
    """Billing suspended, its one slot taken and a vault key missing: three gates block."""
    vault_set(organization=org, key="SAP_USER", value="robot")
    s = make_due(concurrency_limit=1, vault_keys=["SAP_USER", "SAP_PASSWORD"])
    JobFactory(schedule=s, status=JobStatus.RUNNING)
    org.billing_status = "suspended"
    org.save()
    return s


def test_a_dry_run_reports_every_gate_that_would_block_in_order(now, make_due, org):
    s = blocked_three_ways(now, make_due, org)

    report = report_json(run_tick(now=now, dry_run=True))

    assert report["skipped"] == [
        {
            "scheduleId": str(s.id),
            "reason": "billing_blocked",
            "detail": report["skipped"][0]["detail"],
            "reasons": ["billing_blocked", "concurrency_limit", "vault_keys_missing"],
        }
    ]
    assert "suspended" in report["skipped"][0]["detail"]


def test_a_dry_runs_other_skips_list_their_reason_alone(now, make_due):
    missed = make_due(
        cron_expression="0 * * * *", next_run_at=now.replace(second=0) - timedelta(hours=3)
    )
    report = report_json(run_tick(now=now, dry_run=True))
    assert [(k["reason"], k["reasons"]) for k in report["skipped"]] == [("missed", ["missed"])]
    assert report["skipped"][0]["scheduleId"] == str(missed.id)


def test_the_real_ticks_skip_names_the_first_gate_only_as_it_always_did(now, make_due, org):
    s = blocked_three_ways(now, make_due, org)

    report = report_json(run_tick(now=now, use_executor_lock=False))

    [skip] = report["skipped"]
    assert skip == {"scheduleId": str(s.id), "reason": "billing_blocked", "detail": skip["detail"]}
