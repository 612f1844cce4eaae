"""next_after / next_n away from DST: the calendar, the day rule, extensions, macros, contracts.

Expected instants are worked out by hand from a calendar (weekdays checked with `cal`), never
produced by the function under test. DST lives in test_cron_dst.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schedules.cron import CronError, next_after, next_n, parse


def z(text: str) -> datetime:
    """'2024-06-01T09:00' -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (expression, timezone, after (UTC), the next instants (UTC))
CASES = [
    # Basics and "strictly after".
    pytest.param(
        "*/15 * * * *",
        "UTC",
        "2024-06-01T10:07:30",
        ["2024-06-01T10:15", "2024-06-01T10:30", "2024-06-01T10:45", "2024-06-01T11:00"],
        id="every-15-minutes",
    ),
    pytest.param(
        "*/15 * * * *",
        "UTC",
        "2024-06-01T10:15",
        ["2024-06-01T10:30"],
        id="after-exactly-on-a-fire-time-is-excluded",
    ),
    pytest.param(
        "* * * * *",
        "UTC",
        "2024-06-01T10:00:59.999999",
        ["2024-06-01T10:01", "2024-06-01T10:02"],
        id="every-minute-from-sub-minute-after",
    ),
    pytest.param(
        "30 2 * * *",
        "UTC",
        "2024-06-01T02:30",
        ["2024-06-02T02:30", "2024-06-03T02:30"],
        id="daily-fixed",
    ),
    pytest.param(
        "5,35 */3 * * *",
        "UTC",
        "2024-06-01T22:40",
        ["2024-06-02T00:05", "2024-06-02T00:35", "2024-06-02T03:05"],
        id="list-and-hour-step-across-midnight",
    ),
    pytest.param(
        "59 23 31 12 *",
        "UTC",
        "2024-12-31T23:59",
        ["2025-12-31T23:59", "2026-12-31T23:59"],
        id="new-years-eve-across-years",
    ),
    # The 31st skips short months; Feb 29 only in leap years, across the skipped 2100.
    pytest.param(
        "0 0 31 * *",
        "UTC",
        "2024-01-31T00:00",
        ["2024-03-31T00:00", "2024-05-31T00:00", "2024-07-31T00:00", "2024-08-31T00:00"],
        id="31st-skips-short-months",
    ),
    pytest.param(
        "0 0 29 2 *",
        "UTC",
        "2023-03-01T00:00",
        ["2024-02-29T00:00", "2028-02-29T00:00"],
        id="feb-29-leap-years",
    ),
    pytest.param(
        "0 0 29 2 *",
        "UTC",
        "2096-03-01T00:00",
        ["2104-02-29T00:00", "2108-02-29T00:00"],
        id="feb-29-across-2100",
    ),
    # L: last day of the month (Feb 28/29, and 2100 is not a leap year).
    pytest.param(
        "0 0 L * *",
        "UTC",
        "2024-01-31T00:00",
        ["2024-02-29T00:00", "2024-03-31T00:00", "2024-04-30T00:00"],
        id="L-leap-february",
    ),
    pytest.param(
        "0 0 L * *",
        "UTC",
        "2023-01-31T00:00",
        ["2023-02-28T00:00", "2023-03-31T00:00"],
        id="L-common-february",
    ),
    pytest.param(
        "0 0 L 2 *",
        "UTC",
        "2099-03-01T00:00",
        [
            "2100-02-28T00:00",
            "2101-02-28T00:00",
            "2102-02-28T00:00",
            "2103-02-28T00:00",
            "2104-02-29T00:00",
        ],
        id="L-february-across-2100",
    ),
    pytest.param(
        "0 0 1,L * *",
        "UTC",
        "2024-01-15T00:00",
        ["2024-01-31T00:00", "2024-02-01T00:00", "2024-02-29T00:00", "2024-03-01T00:00"],
        id="L-in-list",
    ),
    pytest.param(
        "30 18 L * *",
        "Asia/Kolkata",
        "2024-04-01T00:00",
        ["2024-04-30T13:00", "2024-05-31T13:00"],
        id="L-in-a-timezone",
    ),
    # DOW#n: n-th weekday of the month.
    pytest.param(
        "0 9 * * MON#1",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-03T09:00", "2024-07-01T09:00", "2024-08-05T09:00"],
        id="first-monday",
    ),
    pytest.param(
        "0 9 * * 1#1",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-03T09:00", "2024-07-01T09:00", "2024-08-05T09:00"],
        id="first-monday-numeric",
    ),
    pytest.param(
        "0 9 * * 5#3",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-21T09:00", "2024-07-19T09:00", "2024-08-16T09:00"],
        id="third-friday",
    ),
    pytest.param(
        "0 9 * * MON#1,FRI#5",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-03T09:00", "2024-07-01T09:00", "2024-08-05T09:00", "2024-08-30T09:00"],
        id="first-monday-or-fifth-friday",
    ),
    pytest.param(
        "0 9 * * 1#1,5",
        "UTC",
        "2024-06-01T00:00",
        [
            "2024-06-03T09:00",
            "2024-06-07T09:00",
            "2024-06-14T09:00",
            "2024-06-21T09:00",
            "2024-06-28T09:00",
            "2024-07-01T09:00",
            "2024-07-05T09:00",
        ],
        id="first-monday-and-every-friday",
    ),
    pytest.param(
        "0 9 15 * MON#1",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-03T09:00", "2024-06-15T09:00", "2024-07-01T09:00", "2024-07-15T09:00"],
        id="hash-with-dom-is-or",
    ),
    pytest.param(
        "0 9 */7 * MON#1",
        "UTC",
        "2024-01-01T09:00",
        ["2024-04-01T09:00", "2024-07-01T09:00", "2025-09-01T09:00"],
        id="hash-with-star-dom-is-and",
    ),
    # Day rule: OR when both day fields are restricted, AND when either text starts with '*'.
    pytest.param(
        "0 0 13 * FRI",
        "UTC",
        "2024-10-01T00:00",
        [
            "2024-10-04T00:00",
            "2024-10-11T00:00",
            "2024-10-13T00:00",
            "2024-10-18T00:00",
            "2024-10-25T00:00",
            "2024-11-01T00:00",
            "2024-11-08T00:00",
            "2024-11-13T00:00",
        ],
        id="13th-or-friday",
    ),
    pytest.param(
        "0 9 1-7 * */7",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-02T09:00", "2024-07-07T09:00", "2024-08-04T09:00"],
        id="dow-star-step-and-first-sunday",
    ),
    pytest.param(
        "0 0 */2 * MON",
        "UTC",
        "2024-01-01T00:00",
        ["2024-01-15T00:00", "2024-01-29T00:00", "2024-02-05T00:00", "2024-02-19T00:00"],
        id="dom-star-step-and-monday",
    ),
    pytest.param(
        "0 0 30 2 MON",
        "UTC",
        "2024-02-01T00:00",
        [
            "2024-02-05T00:00",
            "2024-02-12T00:00",
            "2024-02-19T00:00",
            "2024-02-26T00:00",
            "2025-02-03T00:00",
        ],
        id="impossible-dom-or-monday-fires-on-mondays",
    ),
    # Sunday as 0 and 7, names (any case, in ranges).
    pytest.param(
        "0 0 * * 0",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-02T00:00", "2024-06-09T00:00", "2024-06-16T00:00"],
        id="sunday-0",
    ),
    pytest.param(
        "0 0 * * 7",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-02T00:00", "2024-06-09T00:00", "2024-06-16T00:00"],
        id="sunday-7",
    ),
    pytest.param(
        "0 0 * * Sun",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-02T00:00", "2024-06-09T00:00", "2024-06-16T00:00"],
        id="sunday-name",
    ),
    pytest.param(
        "0 0 * * mon-wed",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-03T00:00", "2024-06-04T00:00", "2024-06-05T00:00", "2024-06-10T00:00"],
        id="dow-name-range",
    ),
    pytest.param(
        "0 0 * * FRI-SUN",
        "UTC",
        "2024-06-03T00:00",
        ["2024-06-07T00:00", "2024-06-08T00:00", "2024-06-09T00:00", "2024-06-14T00:00"],
        id="dow-range-ending-sunday",
    ),
    pytest.param(
        "0 0 * * */2",
        "UTC",
        "2024-06-03T00:00",
        [
            "2024-06-04T00:00",
            "2024-06-06T00:00",
            "2024-06-08T00:00",
            "2024-06-09T00:00",
            "2024-06-11T00:00",
        ],
        id="dow-star-step-2-is-sun-tue-thu-sat",
    ),
    pytest.param(
        "0 0 1 jan-Mar *",
        "UTC",
        "2024-01-01T00:00",
        ["2024-02-01T00:00", "2024-03-01T00:00", "2025-01-01T00:00"],
        id="month-name-range",
    ),
    # Every macro.
    pytest.param(
        "@yearly", "UTC", "2024-06-01T00:00", ["2025-01-01T00:00", "2026-01-01T00:00"], id="yearly"
    ),
    pytest.param(
        "@annually",
        "UTC",
        "2024-06-01T00:00",
        ["2025-01-01T00:00", "2026-01-01T00:00"],
        id="annually",
    ),
    pytest.param(
        "@monthly",
        "UTC",
        "2024-06-01T00:00",
        ["2024-07-01T00:00", "2024-08-01T00:00"],
        id="monthly",
    ),
    pytest.param(
        "@weekly", "UTC", "2024-06-01T00:00", ["2024-06-02T00:00", "2024-06-09T00:00"], id="weekly"
    ),
    pytest.param(
        "@daily", "UTC", "2024-06-01T00:00", ["2024-06-02T00:00", "2024-06-03T00:00"], id="daily"
    ),
    pytest.param(
        "@midnight",
        "UTC",
        "2024-06-01T00:00",
        ["2024-06-02T00:00", "2024-06-03T00:00"],
        id="midnight",
    ),
    pytest.param(
        "@hourly", "UTC", "2024-06-01T00:00", ["2024-06-01T01:00", "2024-06-01T02:00"], id="hourly"
    ),
    # Half- and quarter-hour offsets (no DST): Asia/Kolkata +05:30, Asia/Kathmandu +05:45.
    pytest.param(
        "0 9 * * *",
        "Asia/Kolkata",
        "2024-06-01T00:00",
        ["2024-06-01T03:30", "2024-06-02T03:30"],
        id="kolkata-0900",
    ),
    pytest.param(
        "0 * * * *",
        "Asia/Kolkata",
        "2024-06-01T00:00",
        ["2024-06-01T00:30", "2024-06-01T01:30"],
        id="kolkata-hourly-on-the-half-hour-utc",
    ),
    pytest.param(
        "30 2 * * *",
        "Asia/Kathmandu",
        "2024-06-01T00:00",
        ["2024-06-01T20:45", "2024-06-02T20:45"],
        id="kathmandu-0230-is-previous-utc-day",
    ),
    pytest.param(
        "0 * * * *",
        "Asia/Kathmandu",
        "2024-06-01T00:00",
        ["2024-06-01T00:15", "2024-06-01T01:15"],
        id="kathmandu-hourly-at-quarter-past-utc",
    ),
    pytest.param(
        "0 0 1 * *",
        "Asia/Kathmandu",
        "2024-06-30T18:14",
        ["2024-06-30T18:15", "2024-07-31T18:15"],
        id="kathmandu-month-start",
    ),
    pytest.param(
        "0 9 * * MON",
        "Pacific/Kiritimati",
        "2024-06-01T00:00",
        ["2024-06-02T19:00", "2024-06-09T19:00"],
        id="utc-plus-14-monday-is-sunday-utc",
    ),
]


@pytest.mark.parametrize(("expression", "tz", "after", "expected"), CASES)
def test_it_finds_the_next_instants(
    expression: str, tz: str, after: str, expected: list[str]
) -> None:
    assert next_n(expression, tz, z(after), len(expected)) == [z(e) for e in expected]
    assert next_after(expression, tz, z(after)) == z(expected[0])


def test_it_accepts_any_aware_after_and_returns_utc() -> None:
    paris_noon = datetime(2024, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 10:00Z
    result = next_after("0 * * * *", "UTC", paris_noon)
    assert result == z("2024-06-01T11:00")
    assert result.tzinfo is UTC
    fixed = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-3)))  # 15:00Z
    assert next_after("0 * * * *", "UTC", fixed) == z("2024-06-01T16:00")


def test_it_accepts_specs_and_zoneinfo_objects() -> None:
    expected = z("2024-06-01T03:30")
    after = z("2024-06-01T00:00")
    assert next_after(parse("0 9 * * *"), ZoneInfo("Asia/Kolkata"), after) == expected
    assert next_after("0 9 * * *", "Asia/Kolkata", after) == expected


def test_it_rejects_a_naive_after() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_after("* * * * *", "UTC", datetime(2024, 6, 1))


def test_it_rejects_an_unknown_timezone() -> None:
    with pytest.raises(CronError, match="Unknown timezone 'Nowhere/Land'"):
        next_after("* * * * *", "Nowhere/Land", z("2024-06-01T00:00"))


def test_it_rejects_an_invalid_expression() -> None:
    with pytest.raises(CronError, match="out of range"):
        next_after("0 25 * * *", "UTC", z("2024-06-01T00:00"))


def test_it_returns_nothing_for_count_zero_and_rejects_negative() -> None:
    assert next_n("* * * * *", "UTC", z("2024-06-01T00:00"), 0) == []
    with pytest.raises(ValueError, match="count"):
        next_n("* * * * *", "UTC", z("2024-06-01T00:00"), -1)


def test_it_does_not_read_the_clock() -> None:
    # Far past and far future give answers relative to `after` only.
    assert next_after("0 0 1 1 *", "UTC", z("1999-12-31T23:59")) == z("2000-01-01T00:00")
    assert next_after("0 0 1 1 *", "UTC", z("2999-06-01T00:00")) == z("3000-01-01T00:00")


def test_it_raises_when_there_is_no_run_before_year_10000() -> None:
    with pytest.raises(CronError, match="10000"):
        next_after("0 0 1 1 *", "UTC", z("9999-06-01T00:00"))


PROPERTY_EXPRESSIONS = [
    "*/15 * * * *",
    "30 2 * * *",
    "0 9 * * 1-5",
    "0 0 L * *",
    "0 9 * * MON#1",
    "0 0 13 * FRI",
    "*/20 1 * * *",
    "0,30 2 * * *",
    "@hourly",
]
PROPERTY_ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Havana",
    "Asia/Kathmandu",
]


@pytest.mark.parametrize("tz", PROPERTY_ZONES)
@pytest.mark.parametrize("expression", PROPERTY_EXPRESSIONS)
def test_it_returns_strictly_increasing_whole_minute_utc_instants(expression: str, tz: str) -> None:
    # Start a little before the northern spring transitions, so the window crosses them.
    after = z("2024-03-09T12:34:56")
    instants = next_n(expression, tz, after, 60)
    assert instants[0] > after
    for earlier, later in zip(instants, instants[1:], strict=False):
        assert later > earlier
    for instant in instants:
        assert instant.tzinfo is UTC
        assert instant.second == 0 and instant.microsecond == 0
    # next_after from any instant in the list yields the following one.
    for earlier, later in zip(instants, instants[1:], strict=False):
        assert next_after(expression, tz, earlier) == later
