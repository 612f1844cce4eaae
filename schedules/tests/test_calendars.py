"""Calendars of excluded dates, pure (schedules.calendars): the occurrence's local date in the
schedule's timezone decides, DST included (SPEC §4, §14)."""

from datetime import UTC, datetime, timedelta

import pytest

from schedules.calendars import (
    AGENT_MAINTENANCE,
    CALENDAR_EXCLUDED,
    PlannedSkips,
    dates_error,
    excluded,
)

AUCKLAND = "Pacific/Auckland"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_it_excludes_an_auckland_holiday_from_its_local_midnight_to_the_next():
    # 2026-12-25 in Auckland is NZDT (+13): local 00:00..24:00 is 2026-12-24T11:00Z..12-25T11:00Z.
    holiday = ["2026-12-25"]
    assert not excluded(utc(2026, 12, 24, 10, 59), AUCKLAND, holiday)
    assert excluded(utc(2026, 12, 24, 11, 0), AUCKLAND, holiday)
    assert excluded(utc(2026, 12, 25, 10, 59), AUCKLAND, holiday)
    assert not excluded(utc(2026, 12, 25, 11, 0), AUCKLAND, holiday)
    # The same UTC instants in UTC are another local day.
    assert not excluded(utc(2026, 12, 24, 11, 0), "UTC", holiday)


def test_it_follows_the_offset_of_the_day_across_auckland_dst_changes():
    # 2026-04-05: NZDT ends at 03:00 local (+13 -> +12); the local day is 25 hours long,
    # 2026-04-04T11:00Z..2026-04-05T12:00Z.
    day = ["2026-04-05"]
    assert not excluded(utc(2026, 4, 4, 10, 59), AUCKLAND, day)
    assert excluded(utc(2026, 4, 4, 11, 0), AUCKLAND, day)
    assert excluded(utc(2026, 4, 5, 11, 59), AUCKLAND, day)
    assert not excluded(utc(2026, 4, 5, 12, 0), AUCKLAND, day)
    # 2026-09-27: NZDT starts at 02:00 local (+12 -> +13); a 23-hour day,
    # 2026-09-26T12:00Z..2026-09-27T11:00Z.
    day = ["2026-09-27"]
    assert not excluded(utc(2026, 9, 26, 11, 59), AUCKLAND, day)
    assert excluded(utc(2026, 9, 26, 12, 0), AUCKLAND, day)
    assert excluded(utc(2026, 9, 27, 10, 59), AUCKLAND, day)
    assert not excluded(utc(2026, 9, 27, 11, 0), AUCKLAND, day)


def test_it_excludes_every_day_of_a_range_inclusive():
    freeze = [{"from": "2026-08-30", "to": "2026-09-02"}]
    assert not excluded(utc(2026, 8, 29, 12), "UTC", freeze)
    for day in range(4):
        assert excluded(utc(2026, 8, 30, 12) + timedelta(days=day), "UTC", freeze)
    assert not excluded(utc(2026, 9, 3, 0), "UTC", freeze)


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ("2026-12-25", "Must be a list"),
        (["2026-12-25", "2026-13-01"], "dates[1]: 2026-13-01 is not a date."),
        (["2026-2-1"], "dates[0]: write a date as YYYY-MM-DD"),
        ([20261225], "dates[0]: write a date as YYYY-MM-DD"),
        ([{"from": "2026-12-25"}], 'dates[0]: a range has exactly the keys "from" and "to".'),
        ([{"from": "2026-12-25", "to": "2026-02-30"}], "dates[0].to: 2026-02-30 is not a date."),
        ([{"from": "2026-12-25", "to": "2026-12-24"}], "dates[0]: from (2026-12-25) must not"),
        ([{"from": "2026-01-01", "to": "2027-01-02"}], "dates[0]: a range spans at most 366"),
        (["2026-01-01"] * 1001, "At most 1000 entries"),
    ],
)
def test_it_names_what_is_wrong_with_dates(dates, message):
    error = dates_error(dates)
    assert error is not None and error.startswith(message), error


def test_it_accepts_days_and_ranges():
    assert dates_error(["2026-12-25", {"from": "2026-01-01", "to": "2027-01-01"}]) is None
    assert dates_error([]) is None


def test_the_planned_skip_is_the_calendar_first_then_maintenance_and_a_manual_run_only_the_window():
    sunday_morning = utc(2026, 12, 27, 3, 0)  # Sunday 03:00 UTC
    planned = PlannedSkips(
        tz="UTC",
        calendars=[("Holidays", ["2026-12-27"])],
        windows=[{"days": ["sun"], "start": "02:00", "end": "04:00"}],
    )
    skip = planned.verdict(sunday_morning)
    assert skip is not None and skip.reason == CALENDAR_EXCLUDED
    assert "calendar 'Holidays'" in skip.detail
    manual = planned.verdict(sunday_morning, manual=True)
    assert manual is not None and manual.reason == AGENT_MAINTENANCE
    assert planned.verdict(sunday_morning + timedelta(hours=1), manual=True) is None
