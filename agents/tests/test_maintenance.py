"""Maintenance windows, pure (agents.maintenance): wall time in the agent's timezone decides,
weekly windows may cross midnight, DST changes keep the wall-clock hours."""

from datetime import UTC, datetime

import pytest

from agents.maintenance import in_maintenance, windows_error


def utc(*args):
    return datetime(*args, tzinfo=UTC)


SAT_NIGHT = [{"days": ["sat"], "start": "22:00", "end": "02:00"}]


def test_a_window_crossing_midnight_covers_the_evening_and_the_next_morning():
    # 2026-12-05 is a Saturday.
    assert not in_maintenance(utc(2026, 12, 5, 21, 59), "UTC", SAT_NIGHT)
    assert in_maintenance(utc(2026, 12, 5, 22, 0), "UTC", SAT_NIGHT)
    assert in_maintenance(utc(2026, 12, 6, 1, 59), "UTC", SAT_NIGHT)  # Sunday morning
    assert not in_maintenance(utc(2026, 12, 6, 2, 0), "UTC", SAT_NIGHT)
    # Friday night and Sunday night are not in it.
    assert not in_maintenance(utc(2026, 12, 4, 23, 0), "UTC", SAT_NIGHT)
    assert not in_maintenance(utc(2026, 12, 6, 23, 0), "UTC", SAT_NIGHT)
    assert not in_maintenance(utc(2026, 12, 7, 1, 0), "UTC", SAT_NIGHT)


def test_it_reads_the_window_in_the_agents_timezone():
    # Saturday 22:00 in New York (EST, -5) is Sunday 03:00Z.
    assert in_maintenance(utc(2026, 12, 6, 3, 0), "America/New_York", SAT_NIGHT)
    assert not in_maintenance(utc(2026, 12, 5, 22, 0), "America/New_York", SAT_NIGHT)


def test_a_window_keeps_its_wall_clock_hours_across_a_dst_change():
    # Sunday 01:00-05:00 in New York. 2026-03-08: clocks go 02:00 EST -> 03:00 EDT, so the window
    # is 06:00Z..09:00Z (3 real hours); the week before it is 06:00Z..10:00Z.
    window = [{"days": ["sun"], "start": "01:00", "end": "05:00"}]
    ny = "America/New_York"
    assert in_maintenance(utc(2026, 3, 1, 9, 59), ny, window)
    assert in_maintenance(utc(2026, 3, 8, 6, 0), ny, window)
    assert in_maintenance(utc(2026, 3, 8, 8, 59), ny, window)
    assert not in_maintenance(utc(2026, 3, 8, 9, 0), ny, window)  # 05:00 EDT
    assert not in_maintenance(utc(2026, 3, 8, 5, 59), ny, window)  # 00:59 EST


def test_a_one_off_range_is_local_wall_time_with_an_exclusive_end():
    window = [{"from": "2026-12-24T18:00", "to": "2026-12-27T06:00"}]
    berlin = "Europe/Berlin"  # CET, +1
    assert not in_maintenance(utc(2026, 12, 24, 16, 59), berlin, window)
    assert in_maintenance(utc(2026, 12, 24, 17, 0), berlin, window)
    assert in_maintenance(utc(2026, 12, 27, 4, 59), berlin, window)
    assert not in_maintenance(utc(2026, 12, 27, 5, 0), berlin, window)


def test_a_window_to_24_00_covers_the_end_of_the_day():
    window = [{"days": ["sun"], "start": "00:00", "end": "24:00"}]
    assert in_maintenance(utc(2026, 12, 6, 23, 59), "UTC", window)
    assert not in_maintenance(utc(2026, 12, 7, 0, 0), "UTC", window)


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ({"days": ["sun"]}, "Must be a list of windows"),
        ([{"days": ["sunday"], "start": "01:00", "end": "02:00"}], "maintenanceWindows[0].days:"),
        ([{"days": [], "start": "01:00", "end": "02:00"}], "maintenanceWindows[0].days:"),
        ([{"days": ["sun"], "start": "1:00", "end": "02:00"}], "maintenanceWindows[0].start:"),
        ([{"days": ["sun"], "start": "01:00", "end": "25:00"}], "maintenanceWindows[0].end:"),
        ([{"days": ["sun"], "start": "01:00", "end": "01:00"}], "maintenanceWindows[0]: start"),
        ([{"days": ["sun"], "start": "01:00"}], "maintenanceWindows[0]: either a weekly"),
        (
            [SAT_NIGHT[0], {"from": "2026-12-24T18:00", "to": "2026-12-24T18:00"}],
            "maintenanceWindows[1]: to must be after from.",
        ),
        ([{"from": "2026-12-24T18:00+01:00", "to": "2026-12-25"}], "maintenanceWindows[0].from:"),
        ([{"from": "2026-12-24T18:00", "to": "2026-02-30T00:00"}], "maintenanceWindows[0].to:"),
        (["sun"], "maintenanceWindows[0]: a window is an object"),
    ],
)
def test_it_names_what_is_wrong_with_windows(windows, message):
    error = windows_error(windows)
    assert error is not None and error.startswith(message), error


def test_it_accepts_weekly_and_one_off_windows():
    assert (
        windows_error([*SAT_NIGHT, {"from": "2026-12-24T18:00", "to": "2026-12-27T06:00"}]) is None
    )
