"""The tick on real PostgreSQL with jitter: a jittered schedule is not selected before its
occurrence plus its offset, is dispatched at the first tick from then on, and its job keeps the
nominal occurrence as scheduled_for (hence the idempotency key) — as do its events."""

from datetime import timedelta
from uuid import NAMESPACE_URL, uuid5

import pytest

from agents.models import Job
from config.clock import iso_z
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.jitter import jitter_offset
from schedules.models import EventKind, Schedule, ScheduleEvent

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
# A fixed id, so its offsets are known: 158 s for 2026-11-26 14:00Z under 300 s of jitter.
JITTERED = uuid5(NAMESPACE_URL, "mimic-test:jittered-a")


@pytest.fixture(autouse=True)
def agent_online_through_the_jitter_window(online_agent, now):
    # These tests tick up to a few minutes after `now` (300 s of jitter): keep it online.
    online_agent.last_heartbeat_at = now + timedelta(minutes=10)
    online_agent.save()


def tick(at, **kw):
    return report_json(run_tick(now=at, use_executor_lock=False, **kw))


def test_it_is_dispatched_at_its_offset_not_at_the_nominal_minute(now, make_due):
    nominal = now.replace(second=0)
    s = make_due(id=JITTERED, jitter_seconds=300)  # 0 14 * * *, next run today 14:00
    offset = s.fire_at - s.next_run_at
    assert offset == jitter_offset(s.id, nominal, 300, nominal + timedelta(days=1))
    assert offset > 2 * SECOND

    assert tick(nominal)["triggeredSchedules"] == []
    assert tick(nominal + offset - SECOND) == {
        "dryRun": False,
        "evaluatedAt": iso_z(nominal + offset - SECOND),
        "triggeredSchedules": [],
        "skipped": [],
        "errors": [],
        "prewarmedAgents": [],
    }
    assert not Job.objects.exists()

    report = tick(nominal + offset)

    (triggered,) = report["triggeredSchedules"]
    assert triggered["scheduledFor"] == iso_z(nominal)
    assert triggered["notes"] == []  # on time, not a catch-up
    job = Job.objects.get(schedule=s)
    assert job.scheduled_for == nominal
    assert job.idempotency_key == f"{s.id}:{iso_z(nominal)}"
    event = ScheduleEvent.objects.get(schedule=s, kind=EventKind.TRIGGERED)
    assert event.scheduled_for == nominal
    s.refresh_from_db()
    tomorrow = nominal + timedelta(days=1)
    assert s.next_run_at == tomorrow
    assert s.fire_at == tomorrow + jitter_offset(s.id, tomorrow, 300, tomorrow + timedelta(days=1))
    assert tick(nominal + offset + SECOND)["triggeredSchedules"] == []


def test_a_jittered_run_is_on_time_at_its_fire_instant_even_with_no_catch_up_window(now, make_due):
    nominal = now.replace(second=0)
    s = make_due(id=JITTERED, jitter_seconds=300, catch_up_window_minutes=0)
    offset = s.fire_at - s.next_run_at
    assert offset > timedelta(seconds=90)  # beyond the on-time grace counted from nominal

    # The first tick after its fire instant, up to a minute later.
    report = tick(nominal + offset + 59 * SECOND)

    assert [t["scheduledFor"] for t in report["triggeredSchedules"]] == [iso_z(nominal)]
    assert report["skipped"] == []


def test_without_jitter_it_fires_at_the_nominal_minute(now, make_due):
    s = make_due(jitter_seconds=0)
    assert s.fire_at == s.next_run_at
    assert len(tick(now)["triggeredSchedules"]) == 1


def test_a_catch_up_waits_for_its_own_fire_instant(now, make_due):
    # The scheduler was down from 13:00; at 14:00:05 the latest occurrence (14:00) is due, but
    # its own jittered instant has not come yet: the older ones are missed, 14:00 waits.
    nominal = now.replace(second=0)
    s = make_due(
        id=JITTERED,
        cron_expression="*/10 * * * *",
        jitter_seconds=300,
        next_run_at=nominal - timedelta(hours=1),
    )
    offset = jitter_offset(s.id, nominal, 300, nominal + timedelta(minutes=10))
    assert offset > now - nominal

    report = tick(now)

    assert report["triggeredSchedules"] == []
    assert [sk["reason"] for sk in report["skipped"]] == ["missed"]
    missed = ScheduleEvent.objects.filter(schedule=s, reason="missed")
    assert sorted(e.scheduled_for for e in missed) == [
        nominal - timedelta(minutes=m) for m in (60, 50, 40, 30, 20, 10)
    ]
    s.refresh_from_db()
    assert (s.next_run_at, s.fire_at) == (nominal, nominal + offset)

    assert tick(nominal + offset - SECOND)["triggeredSchedules"] == []
    report = tick(nominal + offset)
    assert [t["scheduledFor"] for t in report["triggeredSchedules"]] == [iso_z(nominal)]
    assert Job.objects.get(schedule=s).scheduled_for == nominal


def test_executing_it_before_its_fire_instant_says_when_it_fires(now, make_due):
    nominal = now.replace(second=0)
    s = make_due(id=JITTERED, jitter_seconds=300)

    report = tick(nominal, schedule_id=s.id)

    (skip,) = report["skipped"]
    assert skip["reason"] == "not_due"
    assert skip["detail"] == f"next run at {iso_z(nominal)}, jittered to {iso_z(s.fire_at)}"


def test_editing_the_jitter_moves_the_fire_instant_not_the_next_run(now, make_due):
    from schedules import services

    s = make_due(id=JITTERED, jitter_seconds=0)
    nominal = s.next_run_at
    services.schedule_update(schedule=s, now=now, jitter_seconds=300)
    s = Schedule.objects.get(pk=s.pk)
    assert s.next_run_at == nominal
    assert s.fire_at == nominal + jitter_offset(s.id, nominal, 300, nominal + timedelta(days=1))
