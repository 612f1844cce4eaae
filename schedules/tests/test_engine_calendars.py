"""Calendars and maintenance windows through the real tick (SPEC §14): an occurrence on an
excluded local date is skipped `calendar_excluded`, one in its agent's maintenance window
`agent_maintenance` — recorded with scheduled_for, the next run advances, no run is spent; a
forced run is held back by a window but not by a calendar; and the preview of the saved
schedule marks exactly the occurrences the tick skips, across an Auckland DST change."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.models import Agent, Job
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import EventKind, ScheduleEvent
from tests.factories import CalendarFactory

pytestmark = pytest.mark.django_db


def tick(now, **kw):
    kw.setdefault("use_executor_lock", False)
    return report_json(run_tick(now=now, **kw))


def only_skip(report):
    assert report["triggeredSchedules"] == []
    assert len(report["skipped"]) == 1, report
    return report["skipped"][0]


def test_an_occurrence_on_an_excluded_date_is_skipped_and_the_schedule_advances(now, make_due, org):
    holidays = CalendarFactory(organization=org, name="Holidays", dates=["2026-11-26"])
    s = make_due(remaining_runs=5)
    s.calendars.add(holidays)

    skip = only_skip(tick(now))

    assert skip["reason"] == "calendar_excluded"
    assert skip["detail"] == "2026-11-26 (UTC) is an excluded date of calendar 'Holidays'"
    event = ScheduleEvent.objects.get(schedule=s)
    assert (event.kind, event.reason) == (EventKind.SKIPPED, "calendar_excluded")
    assert event.scheduled_for == now.replace(second=0)
    s.refresh_from_db()
    assert s.next_run_at == now.replace(second=0) + timedelta(days=1)
    assert s.remaining_runs == 5  # a planned skip spends no run
    assert not Job.objects.exists()


def test_the_local_date_in_the_schedules_timezone_decides(now, make_due, org):
    # 2026-11-26T14:00Z is 2026-11-27 03:00 in Auckland (NZDT, +13).
    thursday = CalendarFactory(organization=org, dates=["2026-11-26"])
    friday = CalendarFactory(organization=org, dates=[{"from": "2026-11-27", "to": "2026-11-28"}])
    on_thursday = make_due(timezone="Pacific/Auckland")
    on_thursday.calendars.add(thursday)
    on_friday = make_due(timezone="Pacific/Auckland")
    on_friday.calendars.add(friday)

    report = tick(now)

    assert [t["scheduleId"] for t in report["triggeredSchedules"]] == [str(on_thursday.id)]
    assert [(k["scheduleId"], k["reason"]) for k in report["skipped"]] == [
        (str(on_friday.id), "calendar_excluded")
    ]


def test_an_occurrence_in_the_agents_maintenance_window_is_skipped(now, make_due, online_agent):
    # 14:00Z on Thursday is 15:00 in Berlin (CET).
    online_agent.timezone = "Europe/Berlin"
    online_agent.maintenance_windows = [{"days": ["thu"], "start": "15:00", "end": "16:00"}]
    online_agent.save()
    s = make_due()

    skip = only_skip(tick(now))

    assert skip["reason"] == "agent_maintenance"
    assert "2026-11-26 15:00 (Europe/Berlin)" in skip["detail"]
    event = ScheduleEvent.objects.get(schedule=s)
    assert (event.reason, event.scheduled_for) == ("agent_maintenance", now.replace(second=0))
    s.refresh_from_db()
    assert s.next_run_at == now.replace(second=0) + timedelta(days=1)
    assert not Job.objects.exists()


def test_a_forced_run_ignores_a_calendar_but_not_a_maintenance_window(
    now, make_due, org, online_agent
):
    s = make_due(next_run_at=now + timedelta(hours=1))
    s.calendars.add(CalendarFactory(organization=org, dates=["2026-11-26"]))

    forced = tick(now, schedule_id=s.id, force=True)
    assert [t["scheduleId"] for t in forced["triggeredSchedules"]] == [str(s.id)]

    online_agent.maintenance_windows = [{"from": "2026-11-26T13:00", "to": "2026-11-26T15:00"}]
    online_agent.save()
    skip = only_skip(tick(now, schedule_id=s.id, force=True))
    assert skip["reason"] == "agent_maintenance"
    assert Job.objects.count() == 1


def test_the_preview_marks_the_occurrences_the_tick_skips_across_an_auckland_dst_change(
    api, org, make_due, online_agent
):
    # 01:00 and 13:00 in Auckland; NZDT ends 2027-04-04 at 03:00 (+13 -> +12), the holiday.
    # Its local midnight is 2027-04-03T11:00Z: 01:00 NZDT that day is 2027-04-03T12:00Z and
    # 13:00 NZST is 2027-04-04T01:00Z, both skipped; the agent (Sydney, whose DST ends the same
    # night) is under maintenance on Tuesday mornings 10:00-12:00, local.
    start = datetime(2027, 4, 2, 0, 0, tzinfo=UTC)
    online_agent.timezone = "Australia/Sydney"
    online_agent.maintenance_windows = [{"days": ["tue"], "start": "10:00", "end": "12:00"}]
    online_agent.save()
    s = make_due(
        cron_expression="0 1,13 * * *",
        timezone="Pacific/Auckland",
        concurrency_limit=100,
        next_run_at=None,
    )
    s.calendars.add(CalendarFactory(organization=org, dates=["2027-04-04"]))

    preview = api.get(
        "/api/schedules/preview",
        {"scheduleId": str(s.id), "after": "2027-04-02T00:00:00Z", "count": 8},
    ).json()
    skipped = [(k["at"], k["reason"]) for k in preview["skippedRuns"]]
    assert skipped == [
        ("2027-04-03T12:00:00Z", "calendar_excluded"),
        ("2027-04-04T01:00:00Z", "calendar_excluded"),
        ("2027-04-06T01:00:00Z", "agent_maintenance"),  # Tuesday 11:00 in Sydney (AEST)
    ]

    # The tick, occurrence by occurrence, up to the preview's last run.
    last = datetime.fromisoformat(preview["nextRuns"][-1])
    s.next_run_at = datetime.fromisoformat(preview["nextRuns"][0])
    s.save()
    assert s.next_run_at > start
    while s.next_run_at is not None and s.next_run_at <= last:
        at = s.next_run_at + timedelta(seconds=5)
        Agent.objects.filter(pk=online_agent.pk).update(last_heartbeat_at=at)
        tick(at)
        s.refresh_from_db()

    events = ScheduleEvent.objects.filter(schedule=s).order_by("scheduled_for")
    ran = [e.scheduled_for for e in events if e.kind == EventKind.TRIGGERED]
    tick_skipped = [(e.scheduled_for, e.reason) for e in events if e.kind == EventKind.SKIPPED]
    assert ran == [datetime.fromisoformat(r) for r in preview["nextRuns"]]
    assert tick_skipped == [(datetime.fromisoformat(at), reason) for at, reason in skipped]
