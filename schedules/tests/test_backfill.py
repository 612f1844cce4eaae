"""Backfill (SPEC §14): the range's occurrences (pure, DST of §4), the range rules (pure), and the
service on real PostgreSQL — held jobs keyed like scheduled occurrences, exactly once across two
concurrent calls, one event, a constant number of queries whatever the range holds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from agents.models import Job, JobStatus, Trigger
from schedules import services
from schedules.backfill import MAX_OCCURRENCES, range_errors, range_occurrences
from schedules.engine import run_tick
from schedules.models import EventKind, Schedule, ScheduleEvent
from schedules.preview import Verdict
from schedules.tests.conftest import NOW
from tests.factories import CalendarFactory

RETENTION = timedelta(days=90)
MINUTE = NOW.replace(second=0)  # 14:00:00, the minute of NOW (14:00:05)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the range (pure) -------------------------------------------------------------------------


def test_it_enumerates_a_fixed_time_schedule_across_spring_forward():
    # 02:30 does not exist in New York on 2024-03-10: that day's run is 03:00 EDT (SPEC §4).
    got = range_occurrences(
        "30 2 * * *", "America/New_York", utc("2024-03-09T07:30:00"), utc("2024-03-11T06:30:00")
    )
    assert got.runs == [
        utc("2024-03-09T07:30:00"),  # 02:30 EST
        utc("2024-03-10T07:00:00"),  # 03:00 EDT, the first valid instant after the gap
        utc("2024-03-11T06:30:00"),  # 02:30 EDT; `to` is inclusive
    ]
    assert not got.too_many


def test_it_enumerates_a_fixed_time_schedule_once_across_fall_back():
    got = range_occurrences(
        "30 1 * * *", "America/New_York", utc("2024-11-02T00:00:00"), utc("2024-11-04T23:59:00")
    )
    assert got.runs == [
        utc("2024-11-02T05:30:00"),
        utc("2024-11-03T05:30:00"),  # only the first pass of the repeated hour
        utc("2024-11-04T06:30:00"),
    ]


def test_its_from_is_inclusive_to_the_minute():
    got = range_occurrences(
        "0 * * * *", "UTC", utc("2026-01-01T10:00:00"), utc("2026-01-01T11:59:00")
    )
    assert got.runs == [utc("2026-01-01T10:00:00"), utc("2026-01-01T11:00:00")]


def test_it_counts_no_further_than_one_past_the_limit():
    start = utc("2026-01-01T00:00:00")
    at_limit = range_occurrences("* * * * *", "UTC", start, start + timedelta(minutes=999))
    assert len(at_limit.runs) == MAX_OCCURRENCES and not at_limit.too_many
    # A year of minutes answers as quickly as 1,001 of them: the walk stops there.
    over = range_occurrences("* * * * *", "UTC", start, start + timedelta(days=365))
    assert over.too_many and over.runs == []


def test_a_rule_skips_occurrences_and_says_why():
    holiday = utc("2026-01-02T09:00:00")

    def calendar(occurrence, runs_before):
        return Verdict("calendar_excluded") if occurrence == holiday else None

    got = range_occurrences(
        "0 9 * * *", "UTC", utc("2026-01-01T00:00:00"), utc("2026-01-03T23:00:00"), rules=[calendar]
    )
    assert got.runs == [utc("2026-01-01T09:00:00"), utc("2026-01-03T09:00:00")]
    assert [(s.at, s.reason) for s in got.skipped] == [(holiday, "calendar_excluded")]


@pytest.mark.parametrize(
    ("start", "end", "one_time", "fields"),
    [
        (NOW - timedelta(hours=1), NOW, False, set()),
        (NOW - RETENTION, NOW, False, set()),  # the retention's edge is allowed
        (NOW, NOW - timedelta(hours=1), False, {"from"}),
        (NOW - timedelta(hours=1), NOW + timedelta(seconds=1), False, {"to"}),
        (NOW - RETENTION - timedelta(seconds=1), NOW, False, {"from"}),
        (NOW - timedelta(hours=1), NOW, True, {"runAt"}),
    ],
)
def test_it_names_the_field_a_range_breaks(start, end, one_time, fields):
    errors = range_errors(start=start, end=end, now=NOW, retention=RETENTION, one_time=one_time)
    assert set(errors) == fields


# --- the service (real PostgreSQL) ------------------------------------------------------------


def backfill(schedule, start, end, *, dry_run=False, now=NOW):
    """The service as the view calls it: the schedule with its script and agent."""
    schedule = Schedule.objects.select_related("script", "agent").get(pk=schedule.pk)
    return services.schedule_backfill(
        schedule=schedule, start=start, end=end, now=now, dry_run=dry_run
    )


@pytest.mark.django_db
def test_it_enqueues_held_jobs_keyed_like_scheduled_occurrences(hourly):
    before = (hourly.next_run_at, hourly.remaining_runs)
    result = backfill(hourly, MINUTE - timedelta(hours=3), NOW)
    expected = [utc(f"2026-11-26T{h}:00:00") for h in (11, 12, 13, 14)]
    assert result.enqueued == expected and result.already_present == []
    jobs = Job.objects.filter(schedule=hourly).order_by("scheduled_for")
    assert [j.scheduled_for for j in jobs] == expected
    for job in jobs:
        assert (job.status, job.trigger) == (JobStatus.HELD, Trigger.BACKFILL)
        assert job.idempotency_key == f"{hourly.id}:{job.scheduled_for:%Y-%m-%dT%H:%M:%S}Z"
        assert job.start_deadline_at is None
    (event,) = ScheduleEvent.objects.filter(schedule=hourly)
    assert (event.kind, event.trigger) == (EventKind.BACKFILLED, Trigger.BACKFILL)
    assert event.detail == (
        "from 2026-11-26T11:00:00Z to 2026-11-26T14:00:05Z: 4 occurrence(s) enqueued, "
        "0 already present"
    )
    hourly.refresh_from_db()
    assert (hourly.next_run_at, hourly.remaining_runs) == before


@pytest.mark.django_db
def test_an_occurrence_that_ran_as_scheduled_is_already_present(make_due):
    s = make_due()  # 0 14 * * *, due at NOW
    run_tick(now=NOW, use_executor_lock=False)
    ran = Job.objects.get(schedule=s)
    result = backfill(s, MINUTE - timedelta(days=2), NOW)
    assert result.already_present == [ran.scheduled_for]
    assert result.enqueued == [
        ran.scheduled_for - timedelta(days=2),
        ran.scheduled_for - timedelta(days=1),
    ]
    assert Job.objects.filter(schedule=s).count() == 3
    # And again: everything is there now.
    again = backfill(s, MINUTE - timedelta(days=2), NOW)
    assert again.enqueued == [] and len(again.already_present) == 3
    assert Job.objects.filter(schedule=s).count() == 3


@pytest.mark.django_db
def test_a_dry_run_writes_nothing(hourly, assert_no_rows_written):
    at_13 = MINUTE - timedelta(hours=1)
    backfill(hourly, at_13, at_13)  # 13:00 is present
    with assert_no_rows_written():
        result = backfill(hourly, MINUTE - timedelta(hours=3), NOW, dry_run=True)
    assert result.dry_run
    assert result.enqueued == [utc(f"2026-11-26T{h}:00:00") for h in (11, 12, 14)]
    assert result.already_present == [utc("2026-11-26T13:00:00")]
    assert result.blocked_by == []


@pytest.mark.django_db
def test_a_dry_run_reports_every_gate_that_blocks(hourly, org):
    org.billing_status = "suspended"
    org.save()
    hourly.vault_keys = ["PORTAL_PASSWORD"]
    hourly.save()
    hourly.agent.status = "disabled"
    hourly.agent.save()
    result = backfill(hourly, MINUTE - timedelta(hours=1), NOW, dry_run=True)
    assert [b.reason for b in result.blocked_by] == [
        "billing_blocked",
        "vault_keys_missing",
        "agent_unavailable",
    ]
    assert len(result.enqueued) == 2


@pytest.mark.django_db
def test_billing_refuses_and_nothing_is_written(hourly, org, assert_no_rows_written):
    org.billing_status = "suspended"
    org.save()
    with assert_no_rows_written(), pytest.raises(services.BackfillRefused) as refused:
        backfill(hourly, NOW - timedelta(hours=3), NOW)
    assert refused.value.skip.reason == "billing_blocked"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (MINUTE - timedelta(minutes=1000), NOW, "to"),  # 1,001 occurrences (an every-minute cron)
        (NOW - timedelta(days=91), NOW - timedelta(days=90, hours=23), "from"),
        (NOW - timedelta(minutes=5), NOW + timedelta(minutes=1), "to"),
        (NOW, NOW - timedelta(minutes=5), "from"),
    ],
)
def test_a_bad_range_writes_nothing(make_due, assert_no_rows_written, start, end, field):
    s = make_due(cron_expression="* * * * *")
    with assert_no_rows_written(), pytest.raises(ValidationError) as error:
        backfill(s, start, end)
    assert set(error.value.message_dict) == {field}


@pytest.mark.django_db
def test_it_costs_the_same_queries_for_three_occurrences_as_for_a_thousand(make_due):
    def queries(minutes):
        s = make_due(cron_expression="* * * * *", vault_keys=["K"], idempotency_window_minutes=5)
        s = Schedule.objects.select_related("script", "agent").get(pk=s.pk)
        start = MINUTE - timedelta(minutes=minutes - 1)
        with CaptureQueriesContext(connection) as captured:
            result = services.schedule_backfill(
                schedule=s, start=start, end=NOW, now=NOW, dry_run=False
            )
        assert len(result.enqueued) == minutes
        return len(captured)

    assert queries(MAX_OCCURRENCES) == queries(3)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_backfills_enqueue_each_occurrence_exactly_once(make_due) -> None:
    s = make_due(cron_expression="* * * * *")
    ranges = [
        (NOW - timedelta(minutes=600), NOW - timedelta(minutes=100)),
        (NOW - timedelta(minutes=400), NOW),
    ]
    barrier = threading.Barrier(len(ranges))
    results: dict[int, services.Backfill] = {}
    failures: list[BaseException] = []

    def call(i: int) -> None:
        try:
            mine = Schedule.objects.select_related("script", "agent").get(pk=s.pk)
            barrier.wait(timeout=30)
            start, end = ranges[i]
            results[i] = services.schedule_backfill(
                schedule=mine, start=start, end=end, now=NOW, dry_run=False
            )
        except BaseException as exc:  # noqa: BLE001 - reported below, on the main thread
            failures.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(ranges))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    every = {MINUTE - timedelta(minutes=m) for m in range(600)}
    keys = list(Job.objects.filter(schedule=s).values_list("scheduled_for", flat=True))
    assert len(keys) == len(set(keys)) == len(every)
    assert set(keys) == every
    a, b = results[0], results[1]
    assert not set(a.enqueued) & set(b.enqueued)
    assert set(a.enqueued) | set(b.enqueued) == every
    # What one enqueued of the overlap, the other reported already present.
    overlap = {t for t in every if ranges[1][0] <= t <= ranges[0][1]}
    assert set(a.already_present) | set(b.already_present) == overlap
    assert ScheduleEvent.objects.filter(schedule=s, kind=EventKind.BACKFILLED).count() == 2


@pytest.mark.django_db
def test_under_limit_one_a_backfill_runs_one_occurrence_after_another_oldest_first(
    make_due, online_agent
):
    # The tick's release (schedules.engine) lets one held job into the schedule's one slot at a
    # time, the oldest first; the schedule's own next run is hours away and plays no part.
    s = make_due(cron_expression="0 * * * *", next_run_at=NOW + timedelta(hours=5))
    assert s.concurrency_limit == 1
    backfill(s, MINUTE - timedelta(hours=3), MINUTE - timedelta(hours=1))
    released = []
    for minute in range(5):
        now = NOW + timedelta(minutes=minute)
        online_agent.last_heartbeat_at = now  # it keeps heartbeating while the clock moves on
        online_agent.save(update_fields=["last_heartbeat_at"])
        report = run_tick(now=now, use_executor_lock=False)
        active = Job.objects.filter(schedule=s, status__in=["pending", "queued", "running"])
        assert active.count() <= 1  # never two at once under limit 1
        for t in report.triggered:
            released.append(Job.objects.get(id=t.job_id).scheduled_for)
        if minute % 2 == 1:  # the released job runs a while, then ends
            active.update(status=JobStatus.SUCCEEDED, finished_at=now)
    assert released == [utc(f"2026-11-26T{h}:00:00") for h in (11, 12, 13)]
    assert not Job.objects.filter(schedule=s, status=JobStatus.HELD).exists()


@pytest.mark.django_db
def test_a_calendar_excluded_occurrence_is_not_backfilled(make_due, org):
    # The tick would have skipped it (calendar_excluded): the backfill says so and leaves it out.
    s = make_due(cron_expression="0 9 * * *", timezone="Pacific/Auckland")
    holiday = CalendarFactory(organization=org, dates=["2026-11-25"])
    s.calendars.add(holiday)
    result = backfill(s, utc("2026-11-22T00:00:00"), utc("2026-11-25T23:00:00"))
    # 09:00 NZDT (UTC+13) is 20:00 UTC the day before; Auckland's 2026-11-25 is excluded.
    excluded = utc("2026-11-24T20:00:00")
    assert [(r.at, r.reason) for r in result.skipped] == [(excluded, "calendar_excluded")]
    assert result.enqueued == [utc(f"2026-11-{d}T20:00:00") for d in (22, 23, 25)]
    assert not Job.objects.filter(schedule=s, scheduled_for=excluded).exists()


@pytest.mark.django_db
def test_a_schedule_deleted_before_its_backfill_writes_gets_no_jobs(hourly):
    """Its jobs would reference it without a database constraint: the backfill locks it first
    and finds it gone, so nothing is written and the error names the schedule."""
    schedule = Schedule.objects.select_related("script", "agent").get(pk=hourly.pk)
    Schedule.objects.filter(pk=hourly.pk).delete()
    with pytest.raises(ValidationError) as caught:
        services.schedule_backfill(
            schedule=schedule, start=MINUTE - timedelta(hours=3), end=NOW, now=NOW, dry_run=False
        )
    assert set(caught.value.message_dict) == {"schedule"}
    assert not Job.objects.exists() and not ScheduleEvent.objects.exists()
