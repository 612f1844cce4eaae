"""Start and end bounds, the run budget and one-time runs, decided by pure code (no database):
bounds are instants, so a DST change in the schedule's timezone never moves them."""

from datetime import UTC, datetime, timedelta

from schedules import cron
from schedules.due import first_run, resolve_due, resolve_once
from schedules.models import Bounds, StopReason
from schedules.preview import Preview, schedule_preview

NOW = datetime(2026, 11, 26, 14, 0, 5, tzinfo=UTC)
HOURLY = cron.parse("0 * * * *")


def at(hour: int, minute: int = 0, day: int = 26) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_it_starts_at_the_first_occurrence_at_or_after_starts_at():
    on_an_occurrence = first_run(spec=HOURLY, tz="UTC", bounds=Bounds(starts_at=at(18)), after=NOW)
    assert on_an_occurrence.at == at(18)
    between = first_run(spec=HOURLY, tz="UTC", bounds=Bounds(starts_at=at(18, 1)), after=NOW)
    assert between.at == at(19)


def test_it_ignores_a_start_already_past():
    result = first_run(spec=HOURLY, tz="UTC", bounds=Bounds(starts_at=at(9)), after=NOW)
    assert result.at == at(15)


def test_it_stops_ended_when_the_next_occurrence_is_at_or_after_the_end():
    stopped = first_run(spec=HOURLY, tz="UTC", bounds=Bounds(ends_at=at(15)), after=NOW)
    assert (stopped.at, stopped.stopped_reason) == (None, StopReason.ENDED)
    running = first_run(spec=HOURLY, tz="UTC", bounds=Bounds(ends_at=at(15, 1)), after=NOW)
    assert (running.at, running.stopped_reason) == (at(15), "")


def test_it_stops_when_no_runs_are_left():
    result = first_run(spec=HOURLY, tz="UTC", bounds=Bounds(remaining_runs=0), after=NOW)
    assert (result.at, result.stopped_reason) == (None, StopReason.RUN_BUDGET_SPENT)
    assert first_run(spec=HOURLY, tz="UTC", bounds=Bounds(remaining_runs=1), after=NOW).at == at(15)


def test_a_one_time_schedule_runs_at_run_at_until_it_came_due():
    bounds = Bounds(run_at=at(16, 30))
    assert first_run(spec=None, tz="UTC", bounds=bounds, after=NOW).at == at(16, 30)
    done = first_run(spec=None, tz="UTC", bounds=bounds, after=NOW, once_done=StopReason.RAN_ONCE)
    assert (done.at, done.stopped_reason) == (None, StopReason.RAN_ONCE)


def test_it_handles_a_start_inside_the_repeated_hour_of_a_dst_fall_back():
    # America/New_York falls back on 2024-11-03: 01:00-02:00 is lived twice (EDT 05:xxZ, then
    # EST 06:xxZ). A start at 06:00Z is 01:00 EST, inside the second pass.
    starts_at = datetime(2024, 11, 3, 6, 0, tzinfo=UTC)
    after = datetime(2024, 11, 3, 0, 0, tzinfo=UTC)
    fixed = first_run(
        spec=cron.parse("30 1 * * *"),
        tz="America/New_York",
        bounds=Bounds(starts_at=starts_at),
        after=after,
    )
    # A fixed-time schedule fired at 01:30 EDT (05:30Z), before the start: it does not fire
    # again in the second pass, so its first run is the next day's 01:30 EST.
    assert fixed.at == datetime(2024, 11, 4, 6, 30, tzinfo=UTC)
    interval = first_run(
        spec=cron.parse("30 * * * *"),
        tz="America/New_York",
        bounds=Bounds(starts_at=starts_at),
        after=after,
    )
    assert interval.at == datetime(2024, 11, 3, 6, 30, tzinfo=UTC)  # 01:30 EST, real time


def test_an_end_is_an_instant_across_a_dst_spring_forward():
    # 2024-03-10 in New York: 02:30 does not exist; `30 2 * * *` fires once at 03:00 EDT = 07:00Z.
    spec, tz = cron.parse("30 2 * * *"), "America/New_York"
    after = datetime(2024, 3, 9, 8, 0, tzinfo=UTC)  # after the 9th's run (02:30 EST = 07:30Z)
    shifted_run = datetime(2024, 3, 10, 7, 0, tzinfo=UTC)
    at_the_shifted_run = first_run(
        spec=spec, tz=tz, bounds=Bounds(ends_at=shifted_run), after=after
    )
    assert (at_the_shifted_run.at, at_the_shifted_run.stopped_reason) == (None, StopReason.ENDED)
    a_minute_later = Bounds(ends_at=shifted_run + timedelta(minutes=1))
    assert first_run(spec=spec, tz=tz, bounds=a_minute_later, after=after).at == shifted_run


def test_the_tick_stops_ended_after_the_last_occurrence_before_the_end():
    due = resolve_due(
        spec=HOURLY,
        tz="UTC",
        next_run_at=at(14),
        now=NOW,
        catch_up_window=timedelta(minutes=60),
        until=at(14, 30),
    )
    assert due.run_at == at(14)
    assert (due.next_run_at, due.ended) == (at(15), True)


def test_occurrences_after_the_end_are_neither_run_nor_missed():
    # Down from 11:00 to 14:30 with an end at 12:30: 11:00 and 12:00 are older than the
    # catch-up window (missed); 13:00 and 14:00 are past the end (the stop, not missed runs).
    due = resolve_due(
        spec=HOURLY,
        tz="UTC",
        next_run_at=at(11),
        now=at(14, 30),
        catch_up_window=timedelta(minutes=60),
        until=at(12, 30),
    )
    assert due.run_at is None
    assert due.missed == [at(11), at(12)]
    assert (due.next_run_at, due.ended) == (at(13), True)


def test_the_last_occurrence_before_the_end_still_catches_up_inside_the_window():
    due = resolve_due(
        spec=HOURLY,
        tz="UTC",
        next_run_at=at(12),
        now=at(13, 40),
        catch_up_window=timedelta(minutes=120),
        until=at(13, 30),
    )
    assert due.run_at == at(13)
    assert due.missed == [at(12)]
    assert (due.next_run_at, due.ended) == (at(14), True)


def test_without_an_end_nothing_changes():
    due = resolve_due(
        spec=HOURLY, tz="UTC", next_run_at=at(14), now=NOW, catch_up_window=timedelta(0)
    )
    assert (due.run_at, due.next_run_at, due.ended) == (at(14), at(15), False)


def test_a_one_time_run_is_on_time_late_inside_the_window_or_missed():
    on_time = resolve_once(run_at=at(14), now=NOW, catch_up_window=timedelta(0))
    assert (on_time.run_at, on_time.missed, on_time.next_run_at) == (at(14), [], None)
    late = resolve_once(run_at=at(13, 30), now=NOW, catch_up_window=timedelta(minutes=60))
    assert late.run_at == at(13, 30)
    missed = resolve_once(run_at=at(11), now=NOW, catch_up_window=timedelta(minutes=60))
    assert (missed.run_at, missed.missed, missed.missed_total) == (None, [at(11)], 1)


def test_the_preview_of_a_bounded_schedule_stops_at_its_end_and_its_budget():
    bounds = Bounds(starts_at=at(16), ends_at=at(19))
    runs = preview(bounds).runs
    assert runs == [at(16), at(17), at(18)]
    budget = Bounds(remaining_runs=2)
    assert preview(budget).runs == [
        at(15),
        at(16),
    ]


def preview(bounds: Bounds) -> Preview:
    """The preview (schedules.preview) of an hourly UTC schedule within `bounds`."""
    return schedule_preview(
        spec=HOURLY, tz="UTC", bounds=bounds, stopped_reason="", after=NOW, count=5
    )
