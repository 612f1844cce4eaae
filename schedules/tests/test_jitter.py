"""Jitter, decided by pure code (no database): deterministic per schedule and occurrence, within
its bound, never so late that the next occurrence comes due first — and, over many schedules
sharing one minute, spread across the window (the histogram is printed: run with -s)."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from schedules import cron
from schedules.due import resolve_due, resolve_once
from schedules.jitter import TICK_INTERVAL, jitter_bound, jitter_offset

NINE = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NEXT_NINE = NINE + timedelta(days=1)
DAILY_AT_NINE = cron.parse("0 9 * * *")


def schedule_id(index: int) -> UUID:
    """Fixed ids, so every statistical assertion below is about one reproducible set."""
    return uuid5(NAMESPACE_URL, f"mimic-test:jitter:{index}")


def test_it_is_the_same_for_the_same_schedule_and_occurrence():
    sid = schedule_id(1)
    first = jitter_offset(sid, NINE, 300, NEXT_NINE)
    assert jitter_offset(sid, NINE, 300, NEXT_NINE) == first
    # The same instant written in another zone is the same occurrence.
    in_tokyo = NINE.astimezone(ZoneInfo("Asia/Tokyo"))
    assert jitter_offset(sid, in_tokyo, 300, NEXT_NINE) == first


def test_it_differs_between_schedules_and_between_occurrences():
    by_schedule = {jitter_offset(schedule_id(i), NINE, 300, NEXT_NINE) for i in range(50)}
    assert len(by_schedule) > 25
    sid = schedule_id(1)
    by_day = {
        jitter_offset(sid, NINE + timedelta(days=d), 300, NEXT_NINE + timedelta(days=d))
        for d in range(50)
    }
    assert len(by_day) > 25


def test_it_stays_within_zero_and_the_jitter_in_whole_seconds():
    for i in range(500):
        offset = jitter_offset(schedule_id(i), NINE, 45, NEXT_NINE)
        assert timedelta(0) <= offset <= timedelta(seconds=45)
        assert offset.microseconds == 0
    # Both ends are reached: the bound is inclusive.
    offsets = {jitter_offset(schedule_id(i), NINE, 3, NEXT_NINE) for i in range(200)}
    assert offsets == {timedelta(seconds=s) for s in range(4)}


def test_no_jitter_is_no_offset():
    assert {jitter_offset(schedule_id(i), NINE, 0, NEXT_NINE) for i in range(100)} == {timedelta(0)}


def test_it_is_capped_a_tick_before_the_next_occurrence():
    # Every minute: no room at all — a run started a tick late would meet the next occurrence.
    minute_later = NINE + timedelta(minutes=1)
    assert jitter_bound(NINE, 3600, minute_later) == 0
    assert {jitter_offset(schedule_id(i), NINE, 3600, minute_later) for i in range(100)} == {
        timedelta(0)
    }
    # Every 10 minutes with an hour of jitter: at most 9 minutes, so the run starts (within one
    # tick of its fire instant) before the next occurrence comes due.
    ten_later = NINE + timedelta(minutes=10)
    assert jitter_bound(NINE, 3600, ten_later) == 540
    offsets = [jitter_offset(schedule_id(i), NINE, 3600, ten_later) for i in range(1000)]
    assert max(offsets) == timedelta(seconds=540)
    assert all(NINE + o + TICK_INTERVAL <= ten_later for o in offsets)


def test_a_one_time_run_has_no_next_occurrence_to_cap_it():
    assert jitter_bound(NINE, 3600, None) == 3600


def test_a_thousand_schedules_at_nine_spread_over_the_window():
    width, buckets, jitter = 30, 10, 300
    offsets = [
        int(jitter_offset(schedule_id(i), NINE, jitter, NEXT_NINE).total_seconds())
        for i in range(1000)
    ]
    counts = Counter(min(o // width, buckets - 1) for o in offsets)  # 300 s joins the last one
    mean = len(offsets) / buckets
    print(f"\n1,000 schedules at 0 9 * * *, jitterSeconds {jitter}: start offset histogram")
    for b in range(buckets):
        top = width * (b + 1) if b < buckets - 1 else jitter
        print(f"  {width * b:3d}-{top:3d} s {counts[b]:4d} {'#' * (counts[b] // 4)}")
    assert min(offsets) >= 0 and max(offsets) <= jitter
    assert all(counts[b] >= mean / 3 for b in range(buckets)), counts  # none empty, too
    assert max(counts.values()) <= 3 * mean, counts
    assert len(set(offsets)) > 250  # nearly every second of the window is used


def test_the_on_time_grace_counts_from_the_fire_instant():
    offset = timedelta(seconds=250)
    fired = NINE + offset + timedelta(seconds=40)  # the first tick after nominal + offset
    on_time = resolve_due(
        spec=DAILY_AT_NINE,
        tz="UTC",
        next_run_at=NINE,
        now=fired,
        catch_up_window=timedelta(0),
        jitter=offset,
    )
    assert (on_time.run_at, on_time.missed) == (NINE, [])
    # Without its jitter the same run would be 290 s late: missed under a window of 0.
    unjittered = resolve_due(
        spec=DAILY_AT_NINE, tz="UTC", next_run_at=NINE, now=fired, catch_up_window=timedelta(0)
    )
    assert (unjittered.run_at, unjittered.missed) == (None, [NINE])
    # The grace is still a grace: far past the fire instant it is missed.
    late = resolve_due(
        spec=DAILY_AT_NINE,
        tz="UTC",
        next_run_at=NINE,
        now=NINE + offset + timedelta(minutes=5),
        catch_up_window=timedelta(0),
        jitter=offset,
    )
    assert late.missed == [NINE]


def test_a_one_time_run_counts_its_grace_from_its_fire_instant_too():
    offset = timedelta(seconds=600)
    due = resolve_once(
        run_at=NINE, now=NINE + offset + timedelta(seconds=30), catch_up_window=timedelta(0)
    )
    assert due.run_at is None
    due = resolve_once(
        run_at=NINE,
        now=NINE + offset + timedelta(seconds=30),
        catch_up_window=timedelta(0),
        jitter=offset,
    )
    assert due.run_at == NINE
