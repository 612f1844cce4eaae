"""Missed occurrences and catch-up (SPEC §4), pure: at most one catch-up run, never a burst."""

from datetime import UTC, datetime, timedelta

from schedules import cron
from schedules.due import MAX_MISSED_EVENTS, resolve_due

NOW = datetime(2026, 11, 26, 14, 0, 20, tzinfo=UTC)


def at(h, m=0, day=26):
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


def test_it_runs_the_current_occurrence_on_time():
    due = resolve_due(
        spec=cron.parse("0 * * * *"),
        tz="UTC",
        next_run_at=at(14),
        now=NOW,
        catch_up_window=timedelta(0),
    )
    assert due.run_at == at(14)
    assert due.missed == []
    assert due.next_run_at == at(15)


def test_it_catches_up_once_after_three_hours_down_inside_the_window():
    # Down from 11:00 to 14:30 — occurrences 11, 12, 13, 14 were missed; 14:00 is 30 min old.
    now = at(14, 30)
    due = resolve_due(
        spec=cron.parse("0 * * * *"),
        tz="UTC",
        next_run_at=at(11),
        now=now,
        catch_up_window=timedelta(minutes=60),
    )
    assert due.run_at == at(14)
    assert due.missed == [at(11), at(12), at(13)]
    assert due.missed_total == 3
    assert due.next_run_at == at(15)


def test_it_does_not_catch_up_outside_the_window():
    now = at(14, 30)
    due = resolve_due(
        spec=cron.parse("0 * * * *"),
        tz="UTC",
        next_run_at=at(11),
        now=now,
        catch_up_window=timedelta(minutes=20),
    )
    assert due.run_at is None
    assert due.missed == [at(11), at(12), at(13), at(14)]
    assert due.next_run_at == at(15)


def test_it_advances_from_the_occurrence_not_from_now():
    # Evaluated 40 s late: the next run is 14:05, not 14:05:40 or 14:01.
    due = resolve_due(
        spec=cron.parse("*/5 * * * *"),
        tz="UTC",
        next_run_at=at(14),
        now=at(14) + timedelta(seconds=40),
        catch_up_window=timedelta(minutes=60),
    )
    assert due.next_run_at == at(14, 5)


def test_it_bounds_a_long_outage_of_an_every_minute_schedule():
    # Two days down: one catch-up, the missed ones counted but only the first few recorded.
    now = at(14, 0, day=28) + timedelta(seconds=10)
    due = resolve_due(
        spec=cron.parse("* * * * *"),
        tz="UTC",
        next_run_at=at(14),
        now=now,
        catch_up_window=timedelta(minutes=60),
    )
    assert due.run_at == at(14, 0, day=28)
    assert len(due.missed) == MAX_MISSED_EVENTS
    assert due.missed[0] == at(14)
    assert due.missed_total >= 1000
    assert due.next_run_at == at(14, 1, day=28)


def test_it_catches_up_in_the_schedule_timezone_across_dst():
    # 30 1 * * * in New York on 2024-11-03 fires once, at 05:30Z (the first 01:30).
    ny = "America/New_York"
    first = datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    due = resolve_due(
        spec=cron.parse("30 1 * * *"),
        tz=ny,
        next_run_at=first,
        now=datetime(2024, 11, 3, 6, 45, tzinfo=UTC),
        catch_up_window=timedelta(hours=2),
    )
    assert due.run_at == first
    assert due.missed == []
    assert due.next_run_at == datetime(2024, 11, 4, 6, 30, tzinfo=UTC)


def test_it_records_a_single_stale_occurrence_as_missed_outside_the_window():
    # Down from 11:55 to 12:59: only 12:00 fell in the outage, and it is older than the window.
    due = resolve_due(
        spec=cron.parse("0 * * * *"),
        tz="UTC",
        next_run_at=at(12),
        now=at(12, 59),
        catch_up_window=timedelta(minutes=30),
    )
    assert (due.run_at, due.missed, due.missed_total) == (None, [at(12)], 1)
    assert due.next_run_at == at(13)


def test_a_question_asked_again_is_answered_from_memory_and_a_different_one_is_not():
    # A due minute's rows share a few (expression, timezone, instant): the answer is computed
    # once and shared (frozen), while any input that differs gets an answer of its own.
    ask = dict(
        spec=cron.parse("*/5 * * * *"),
        tz="Europe/Paris",
        next_run_at=at(14),
        now=NOW,
        catch_up_window=timedelta(0),
    )
    first = resolve_due(**ask)
    assert resolve_due(**ask) is first
    later = resolve_due(**{**ask, "now": at(14, 6)})
    assert later is not first
    assert (later.run_at, later.missed, later.next_run_at) == (at(14, 5), [at(14)], at(14, 10))
    assert resolve_due(**{**ask, "tz": "Asia/Kolkata"}) is not first
