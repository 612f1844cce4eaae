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
