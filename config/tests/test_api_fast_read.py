"""The list and detail serializers write rows through config.api_common.FastReadMixin (a plan
worked out once per serializer class) instead of DRF's field-by-field machinery: their output
must be DRF's own, key for key and value for value, on rows that reach every branch — nulls,
blanks, a one-time schedule, calendars in their order, missing vault keys, a job that never
started, an agent that never called in, instants before the year 1000."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework import serializers

from agents.api.serializers import AgentCreatedSerializer, AgentSerializer, JobSerializer
from agents.models import Agent, Job
from schedules.api.serializers import ScheduleEventSerializer, ScheduleSerializer
from schedules.models import Schedule, ScheduleEvent
from tests.factories import AgentFactory, CalendarFactory, JobFactory, ScheduleFactory
from vault.models import VaultEntry

pytestmark = pytest.mark.django_db

T = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)


def drf(serializer_class, instance):
    """What DRF's own Serializer.to_representation writes for `instance`."""
    return serializers.Serializer.to_representation(serializer_class(context={}), instance)


def assert_same(serializer_class, instances):
    context: dict = {}
    fast = serializer_class(instances, many=True, context=context).data
    assert [dict(row) for row in fast] == [drf(serializer_class, i) for i in instances]
    for instance in instances:  # one row (a detail) as well as a page
        assert serializer_class(instance, context={}).data == drf(serializer_class, instance)
    # The key order too: the JSON reads the same.
    assert [list(row) for row in fast] == [list(drf(serializer_class, i)) for i in instances]


def test_it_writes_schedules_as_drf_does(org):
    calendars = [CalendarFactory.create(organization=org, name=n) for n in ("zz", "aa", "mm")]
    VaultEntry.objects.create(organization=org, key="PRESENT", ciphertext="x")
    plain = ScheduleFactory.create(organization=org)
    full = ScheduleFactory.create(
        organization=org,
        cron_expression="0 9 * * MON#1",
        timezone="America/New_York",
        starts_at=T,
        ends_at=T + timedelta(days=400),
        remaining_runs=0,
        jitter_seconds=30,
        start_deadline_minutes=5,
        overlap_policy="queue_one",
        variables={"region": "us-east", "n": [1, None, {"a": True}]},
        vault_keys=["PRESENT", "MISSING", "ALSO_MISSING"],
        last_run_at=T,
        last_run_status="failed",
        stopped_reason="run_budget_spent",
        paused_note="until Monday",
        paused_at=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
        enabled=False,
    )
    full.calendars.set(calendars)
    once = ScheduleFactory.create(
        organization=org, cron_expression="", run_at=T + timedelta(days=1), next_run_at=None
    )
    broken = ScheduleFactory.create(organization=org)
    Schedule.objects.filter(pk=broken.pk).update(cron_expression="not cron")
    rows = list(
        Schedule.objects.filter(organization=org).prefetch_related("calendars").order_by("name")
    )

    assert_same(ScheduleSerializer, rows)
    # Without the prefetch (a schedule just written): the calendars are read as DRF reads them.
    assert_same(ScheduleSerializer, list(Schedule.objects.filter(pk__in=[full.pk, plain.pk])))
    written = ScheduleSerializer(full).data
    assert written["calendarIds"] == [str(c.id) for c in sorted(calendars, key=lambda c: c.name)]
    assert written["missingVaultKeys"] == ["MISSING", "ALSO_MISSING"]
    assert written["pausedAt"] == "0999-01-02T03:04:05Z"
    assert ScheduleSerializer(once).data["description"].startswith("Once, at ")


def test_it_writes_jobs_and_events_as_drf_does(org):
    schedule = ScheduleFactory.create(organization=org)
    finished = JobFactory.create(
        schedule=schedule,
        status="failed",
        attempt=2,
        max_attempts=3,
        retry_at=T,
        queued_at=T,
        started_at=T,
        heartbeat_at=T,
        deadline_at=T,
        start_deadline_at=T,
        finished_at=T,
        cancel_requested_at=T,
        exit_code=-9,
        error_kind="timeout",
        error_message="killed",
    )
    waiting = JobFactory.create(schedule=schedule)
    orphan = JobFactory.create(schedule=schedule)
    Job.objects.filter(pk=orphan.pk).update(schedule=None, script=None, agent=None)
    ScheduleEvent.objects.create(
        organization=org, schedule=schedule, kind="triggered", job=finished, created_at=T
    )
    ScheduleEvent.objects.create(
        organization=org,
        schedule=schedule,
        kind="skipped",
        reason="agent_unavailable",
        detail="offline",
        scheduled_for=T,
        trigger="scheduled",
        created_at=T + timedelta(minutes=1),
    )

    jobs = list(Job.objects.filter(pk__in=[finished.pk, waiting.pk, orphan.pk]).order_by("id"))
    assert_same(JobSerializer, jobs)
    assert_same(ScheduleEventSerializer, list(ScheduleEvent.objects.order_by("id")))


def test_it_writes_agents_as_drf_does(org):
    AgentFactory.create(organization=org)  # never called in: no heartbeat
    AgentFactory.create(
        organization=org,
        status="online",
        last_heartbeat_at=T,
        controller="webhook",
        controller_config={"url": "https://vm.example.com/start", "secret": "never shown"},
        maintenance_windows=[{"days": ["sat"], "start": "22:00", "end": "02:00"}],
        timezone="Europe/Berlin",
    )
    agents = list(Agent.objects.filter(organization=org).order_by("name"))

    assert_same(AgentSerializer, agents)
    assert all(
        "secret" not in row["controllerConfig"] for row in AgentSerializer(agents, many=True).data
    )
    created = agents[0]
    created.token, created.runtime_environment = "t0ken", {"MIMIC_AGENT_TOKEN": "t0ken"}
    assert_same(AgentCreatedSerializer, [created])
