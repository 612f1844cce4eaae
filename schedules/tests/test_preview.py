"""A saved schedule's preview (SPEC §14 "When it runs"), pure: its bounds and run budget decide
the runs, and the occurrence where it stops is listed as skipped, with the reason; DST changes
between the runs are found to the second."""

from datetime import UTC, datetime, timedelta

import pytest

from schedules import cron
from schedules.models import Bounds, StopReason
from schedules.preview import (
    MAX_SKIPPED,
    DstTransition,
    SkippedRun,
    Verdict,
    format_offset,
    in_zone,
    schedule_preview,
    transitions_between,
)

AFTER = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAILY_9_UTC = cron.parse("0 9 * * *")


def day(d, h=9, m=0, month=3):
    return datetime(2026, month, d, h, m, tzinfo=UTC)


def preview(bounds=None, *, spec=DAILY_9_UTC, tz="UTC", count=5, stopped="", rules=()):
    return schedule_preview(
        spec=spec,
        tz=tz,
        bounds=bounds or Bounds(),
        stopped_reason=stopped,
        after=AFTER,
        count=count,
        rules=rules,
    )


def test_without_bounds_it_lists_the_next_runs_and_skips_none():
    result = preview(count=3)
    assert result.runs == [day(2), day(3), day(4)]
    assert result.skipped == []
    assert result.stopped_reason == ""


def test_runs_start_at_starts_at_the_occurrence_at_it_included():
    result = preview(Bounds(starts_at=day(10)), count=2)
    assert result.runs == [day(10), day(11)]
    assert result.skipped == []


def test_a_start_before_after_changes_nothing():
    assert preview(Bounds(starts_at=day(1, 0) - timedelta(days=30)), count=1).runs == [day(2)]


def test_it_stops_before_ends_at_and_lists_the_first_occurrence_there_as_ended_once():
    result = preview(Bounds(ends_at=day(4)), count=5)
    assert result.runs == [day(2), day(3)]
    assert result.skipped == [SkippedRun(day(4), StopReason.ENDED)]
    assert result.stopped_reason == ""  # it still has runs


def test_an_end_already_passed_has_no_runs_and_says_ended():
    result = preview(Bounds(ends_at=day(1, 10)), count=5)
    assert result.runs == []
    assert result.skipped == [SkippedRun(day(2), StopReason.ENDED)]
    assert result.stopped_reason == StopReason.ENDED


def test_an_end_after_the_listed_runs_lists_no_skip():
    result = preview(Bounds(ends_at=day(20)), count=3)
    assert result.runs == [day(2), day(3), day(4)]
    assert result.skipped == []


def test_the_run_budget_allows_that_many_runs_then_lists_the_next_as_spent():
    result = preview(Bounds(remaining_runs=2), count=5)
    assert result.runs == [day(2), day(3)]
    assert result.skipped == [SkippedRun(day(4), StopReason.RUN_BUDGET_SPENT)]


def test_a_budget_that_outlasts_the_listed_runs_lists_no_skip():
    result = preview(Bounds(remaining_runs=5), count=5)
    assert len(result.runs) == 5
    assert result.skipped == []


def test_the_end_wins_over_the_budget_on_the_same_occurrence():
    # The last budgeted run is also the last before the end: it stops as `ended` (as the tick
    # stores it).
    result = preview(Bounds(remaining_runs=2, ends_at=day(4)), count=5)
    assert result.runs == [day(2), day(3)]
    assert result.skipped == [SkippedRun(day(4), StopReason.ENDED)]


def test_a_one_time_schedule_has_its_one_run():
    result = preview(Bounds(run_at=day(7, 15, 30)), spec=None, count=5)
    assert result.runs == [day(7, 15, 30)]
    assert result.skipped == []


def test_a_one_time_run_before_after_is_not_listed():
    result = preview(Bounds(run_at=day(1, 8)), spec=None)
    assert result.runs == []
    assert result.stopped_reason == ""


@pytest.mark.parametrize("reason", [StopReason.RAN_ONCE, StopReason.ONCE_SKIPPED])
def test_a_one_time_run_that_came_due_has_none_and_says_why(reason):
    result = preview(Bounds(run_at=day(7)), spec=None, stopped=reason)
    assert result.runs == []
    assert result.skipped == []
    assert result.stopped_reason == reason


@pytest.mark.parametrize("reason", [StopReason.ENDED, StopReason.RUN_BUDGET_SPENT])
def test_a_stopped_recurring_schedule_has_no_runs_and_says_why(reason):
    result = preview(Bounds(remaining_runs=0), stopped=reason)
    assert result.runs == []
    assert result.stopped_reason == reason


def test_a_recurring_schedule_needs_a_spec():
    with pytest.raises(ValueError, match="cron spec"):
        preview(spec=None)


def test_a_skip_rule_lists_the_occurrence_and_goes_on_without_spending_budget():
    # What a calendar will be: skip the 3rd, keep walking; skipped runs take no budget.
    def no_third(occurrence, runs_before):
        return Verdict("calendar") if occurrence.day == 3 else None

    result = preview(Bounds(remaining_runs=2), rules=[no_third], count=5)
    assert result.runs == [day(2), day(4)]
    assert result.skipped == [
        SkippedRun(day(3), "calendar"),
        SkippedRun(day(5), StopReason.RUN_BUDGET_SPENT),
    ]


def test_a_rule_skipping_everything_ends_the_walk():
    result = preview(rules=[lambda occurrence, runs_before: Verdict("closed")], count=5)
    assert result.runs == []
    assert len(result.skipped) == MAX_SKIPPED
    assert result.stopped_reason == ""


# --- DST annotations -----------------------------------------------------------------------


def test_new_york_spring_forward_between_runs_is_found_to_the_second():
    # Spring forward 2026 is Sunday March 8, 02:00 EST -> 03:00 EDT.
    runs = schedule_preview(
        spec="30 2 * * *",
        tz="America/New_York",
        bounds=Bounds(),
        stopped_reason="",
        after=datetime(2026, 3, 7, 0, 0, tzinfo=UTC),
        count=3,
    ).runs
    # 02:30 does not exist on the 8th: it runs at the end of the gap, 03:00 EDT (07:00Z).
    assert runs == [day(7, 7, 30), day(8, 7, 0), day(9, 6, 30)]
    assert transitions_between(runs, ["America/New_York"]) == [
        DstTransition(day(8, 7, 0), "America/New_York", timedelta(hours=-5), timedelta(hours=-4))
    ]
    assert transitions_between(runs[1:], ["America/New_York"]) == []


def test_auckland_both_changes_of_a_year_and_the_viewer_zone_once_each():
    # NZ: DST ends Sunday April 5, 2026 03:00 NZDT -> 02:00 NZST (14:00Z on the 4th); starts
    # Sunday September 27, 2026 02:00 NZST -> 03:00 NZDT (14:00Z on the 26th).
    runs = [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)]
    found = transitions_between(runs, ["Pacific/Auckland", "Pacific/Auckland", "UTC"])
    assert found == [
        DstTransition(
            datetime(2026, 4, 4, 14, 0, tzinfo=UTC),
            "Pacific/Auckland",
            timedelta(hours=13),
            timedelta(hours=12),
        ),
        DstTransition(
            datetime(2026, 9, 26, 14, 0, tzinfo=UTC),
            "Pacific/Auckland",
            timedelta(hours=12),
            timedelta(hours=13),
        ),
    ]


def test_transitions_of_two_zones_are_ordered_by_instant():
    runs = [datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC)]
    found = transitions_between(runs, ["Pacific/Auckland", "America/New_York"])
    assert [(t.zone, t.at) for t in found] == [
        ("America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        ("Pacific/Auckland", datetime(2026, 4, 4, 14, 0, tzinfo=UTC)),
    ]


def test_fewer_than_two_instants_span_no_transition():
    assert transitions_between([day(8)], ["America/New_York"]) == []
    assert transitions_between([], ["America/New_York"]) == []


def test_a_transition_exactly_at_the_last_run_is_included_and_at_the_first_is_not():
    change = day(8, 7, 0)
    assert len(transitions_between([day(7), change], ["America/New_York"])) == 1
    assert transitions_between([change, day(9)], ["America/New_York"]) == []


def test_viewer_zone_wall_times_carry_the_offset_of_that_day():
    assert in_zone(day(7, 7, 30), "Europe/Paris") == "2026-03-07T08:30:00+01:00"
    assert in_zone(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Europe/Paris") == (
        "2026-03-29T03:30:00+02:00"
    )
    assert in_zone(day(8, 7, 0), "America/New_York") == "2026-03-08T03:00:00-04:00"
    assert in_zone(day(8, 7, 0), "Asia/Kolkata") == "2026-03-08T12:30:00+05:30"


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (timedelta(hours=-5), "-05:00"),
        (timedelta(hours=13), "+13:00"),
        (timedelta(hours=5, minutes=45), "+05:45"),
        (timedelta(0), "+00:00"),
        (timedelta(minutes=-30), "-00:30"),
        (timedelta(hours=-4, minutes=-56, seconds=-2), "-04:56:02"),
    ],
)
def test_offsets_are_written_as_iso_8601_does(offset, text):
    assert format_offset(offset) == text


def test_a_change_just_before_the_first_run_is_named_from_the_previews_start():
    # Spring forward in New York at 07:00Z moves the 02:30 run to 03:00 EDT = 07:00Z: the first
    # listed run sits on the change, which only the preview's start puts inside the span.
    first = datetime(2024, 3, 10, 7, 0, tzinfo=UTC)
    runs = [first, datetime(2024, 3, 11, 6, 30, tzinfo=UTC)]
    assert transitions_between(runs, ["America/New_York"]) == []
    since = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)
    [change] = transitions_between(runs, ["America/New_York"], since=since)
    assert change.at == first
