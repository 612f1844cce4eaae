"""DST (SPEC §4): interval schedules follow real time, fixed-time schedules fire once per wall time.

Every expected instant below is worked out by hand from the real transitions (checked with
zoneinfo in a scratch shell), never produced by the function under test:

- America/New_York 2024: 03-10 07:00Z 02:00 EST -> 03:00 EDT (gap 02:00-02:59);
  11-03 06:00Z 02:00 EDT -> 01:00 EST (01:00-01:59 twice: 05:00-05:59Z, then 06:00-06:59Z).
- Europe/London 2024: 03-31 01:00Z 01:00 GMT -> 02:00 BST (gap 01:00-01:59);
  10-27 01:00Z 02:00 BST -> 01:00 GMT (01:00-01:59 twice: 00:00-00:59Z, then 01:00-01:59Z).
- Australia/Sydney 2024: 04-06 16:00Z 03:00 AEDT -> 02:00 AEST (02:00-02:59 on 04-07 twice:
  15:00-15:59Z, then 16:00-16:59Z); 10-05 16:00Z 02:00 AEST -> 03:00 AEDT (gap 02:00-02:59 on 10-06).
- Australia/Lord_Howe 2024 (30-minute DST): 04-06 15:00Z 02:00 +11 -> 01:30 +10:30 (01:30-01:59 on
  04-07 twice: 14:30-14:59Z, then 15:00-15:29Z); 10-05 15:30Z 02:00 +10:30 -> 02:30 +11
  (gap 02:00-02:29 on 10-06).
- America/Havana 2024 (transitions at midnight): 03-10 05:00Z 00:00 CST -> 01:00 CDT (midnight
  skipped); 11-03 05:00Z 01:00 CDT -> 00:00 CST (00:00-00:59 twice: 04:00-04:59Z, 05:00-05:59Z).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.cron import next_after, next_n


def z(text: str) -> datetime:
    """'2024-03-10T07:00' -> aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NY = "America/New_York"
LONDON = "Europe/London"
SYDNEY = "Australia/Sydney"
LORD_HOWE = "Australia/Lord_Howe"
HAVANA = "America/Havana"

# (expression, timezone, after (UTC), the next instants (UTC))
FIXED_TIME = [
    # New York, spring forward: a skipped wall time fires once, when the gap ends (03:00 EDT).
    pytest.param(
        "30 2 * * *",
        NY,
        "2024-03-09T12:00",
        ["2024-03-10T07:00", "2024-03-11T06:30"],
        id="ny-spring-0230-fires-at-0300-edt",
    ),
    pytest.param(
        "0,30 2 * * *",
        NY,
        "2024-03-09T12:00",
        ["2024-03-10T07:00", "2024-03-11T06:00", "2024-03-11T06:30"],
        id="ny-spring-two-skipped-times-collapse-into-one-run",
    ),
    pytest.param(
        "30 2 * * *",
        NY,
        "2024-03-10T07:00",
        ["2024-03-11T06:30"],
        id="ny-spring-no-second-run-after-the-collapsed-one",
    ),
    pytest.param(
        "30 1 * * *",
        NY,
        "2024-03-09T12:00",
        ["2024-03-10T06:30", "2024-03-11T05:30"],
        id="ny-spring-0130-before-the-gap-is-unaffected",
    ),
    pytest.param(
        "30 3 * * *",
        NY,
        "2024-03-09T12:00",
        ["2024-03-10T07:30", "2024-03-11T07:30"],
        id="ny-spring-0330-after-the-gap-is-unaffected",
    ),
    # New York, fall back: a repeated wall time fires once, in the first pass (EDT).
    pytest.param(
        "30 1 * * *",
        NY,
        "2024-11-02T12:00",
        ["2024-11-03T05:30", "2024-11-04T06:30"],
        id="ny-fall-0130-fires-in-the-first-pass-only",
    ),
    pytest.param(
        "30 1 * * *",
        NY,
        "2024-11-03T05:30",
        ["2024-11-04T06:30"],
        id="ny-fall-no-second-run-after-the-first-pass",
    ),
    pytest.param(
        "30 1 * * *",
        NY,
        "2024-11-03T06:10",
        ["2024-11-04T06:30"],
        id="ny-fall-after-inside-the-second-pass-does-not-fire-again",
    ),
    pytest.param(
        "0,30 1 * * *",
        NY,
        "2024-11-03T04:00",
        ["2024-11-03T05:00", "2024-11-03T05:30", "2024-11-04T06:00"],
        id="ny-fall-several-times-in-the-repeated-hour-fire-once-each",
    ),
    pytest.param(
        "0 2 * * *",
        NY,
        "2024-11-03T05:30",
        ["2024-11-03T07:00"],
        id="ny-fall-0200-exists-once-in-est",
    ),
    pytest.param(
        "@daily",
        NY,
        "2024-11-02T12:00",
        ["2024-11-03T04:00", "2024-11-04T05:00"],
        id="ny-fall-daily-macro-is-fixed-time",
    ),
    # London.
    pytest.param(
        "30 1 * * *",
        LONDON,
        "2024-03-30T12:00",
        ["2024-03-31T01:00", "2024-04-01T00:30"],
        id="london-spring-0130-fires-at-0200-bst",
    ),
    pytest.param(
        "30 1 * * *",
        LONDON,
        "2024-10-26T12:00",
        ["2024-10-27T00:30", "2024-10-28T01:30"],
        id="london-fall-0130-fires-in-the-first-pass-only",
    ),
    pytest.param(
        "30 1 * * *",
        LONDON,
        "2024-10-27T01:10",
        ["2024-10-28T01:30"],
        id="london-fall-after-inside-the-second-pass-does-not-fire-again",
    ),
    pytest.param(
        "0 1 * * *",
        LONDON,
        "2024-10-26T12:00",
        ["2024-10-27T00:00", "2024-10-28T01:00"],
        id="london-fall-0100-fires-once",
    ),
    # Sydney (southern hemisphere: fall back in April, spring forward in October).
    pytest.param(
        "30 2 * * *",
        SYDNEY,
        "2024-04-06T00:00",
        ["2024-04-06T15:30", "2024-04-07T16:30"],
        id="sydney-april-0230-fires-in-the-first-pass-only",
    ),
    pytest.param(
        "30 2 * * *",
        SYDNEY,
        "2024-04-06T16:15",
        ["2024-04-07T16:30"],
        id="sydney-april-after-inside-the-second-pass-does-not-fire-again",
    ),
    pytest.param(
        "30 2 * * *",
        SYDNEY,
        "2024-10-05T00:00",
        ["2024-10-05T16:00", "2024-10-06T15:30"],
        id="sydney-october-0230-fires-at-0300-aedt",
    ),
    # Lord Howe: the 30-minute gap moves a skipped run by 30 minutes, not an hour.
    pytest.param(
        "15 2 * * *",
        LORD_HOWE,
        "2024-10-05T00:00",
        ["2024-10-05T15:30", "2024-10-06T15:15"],
        id="lord-howe-october-0215-fires-at-0230",
    ),
    pytest.param(
        "0,15 2 * * *",
        LORD_HOWE,
        "2024-10-05T00:00",
        ["2024-10-05T15:30", "2024-10-06T15:00", "2024-10-06T15:15"],
        id="lord-howe-october-skipped-times-collapse",
    ),
    pytest.param(
        "45 2 * * *",
        LORD_HOWE,
        "2024-10-05T00:00",
        ["2024-10-05T15:45", "2024-10-06T15:45"],
        id="lord-howe-october-0245-after-the-gap-is-unaffected",
    ),
    pytest.param(
        "45 1 * * *",
        LORD_HOWE,
        "2024-04-06T00:00",
        ["2024-04-06T14:45", "2024-04-07T15:15"],
        id="lord-howe-april-0145-fires-in-the-first-pass-only",
    ),
    # Havana: DST changes at midnight, so midnight itself is skipped, then repeated.
    pytest.param(
        "0 0 * * *",
        HAVANA,
        "2024-03-09T12:00",
        ["2024-03-10T05:00", "2024-03-11T04:00"],
        id="havana-march-skipped-midnight-fires-at-0100-cdt",
    ),
    pytest.param(
        "0 0 * * *",
        HAVANA,
        "2024-11-02T12:00",
        ["2024-11-03T04:00", "2024-11-04T05:00"],
        id="havana-november-repeated-midnight-fires-once",
    ),
    pytest.param(
        "0 0 * * *",
        HAVANA,
        "2024-11-03T05:10",
        ["2024-11-04T05:00"],
        id="havana-november-after-inside-the-second-pass-does-not-fire-again",
    ),
    pytest.param(
        "0 0 10 3 *",
        HAVANA,
        "2024-01-01T00:00",
        ["2024-03-10T05:00", "2025-03-10T04:00"],
        id="havana-skipped-midnight-on-a-dated-schedule",
    ),
]

INTERVAL = [
    # New York, fall back: both passes of 01:00-01:59 fire.
    pytest.param(
        "0 * * * *",
        NY,
        "2024-11-03T04:30",
        ["2024-11-03T05:00", "2024-11-03T06:00", "2024-11-03T07:00"],
        id="ny-fall-hourly-fires-both-0100s",
    ),
    pytest.param(
        "@hourly",
        NY,
        "2024-11-03T04:30",
        ["2024-11-03T05:00", "2024-11-03T06:00", "2024-11-03T07:00"],
        id="ny-fall-hourly-macro-is-interval",
    ),
    pytest.param(
        "0 * * * *",
        NY,
        "2024-11-03T05:00",
        ["2024-11-03T06:00"],
        id="ny-fall-hourly-after-the-first-0100",
    ),
    pytest.param(
        "*/15 * * * *",
        NY,
        "2024-11-03T05:40",
        [
            "2024-11-03T05:45",
            "2024-11-03T06:00",
            "2024-11-03T06:15",
            "2024-11-03T06:30",
            "2024-11-03T06:45",
            "2024-11-03T07:00",
        ],
        id="ny-fall-every-15-minutes-through-both-passes",
    ),
    pytest.param(
        "*/15 * * * *",
        NY,
        "2024-11-03T05:50",
        ["2024-11-03T06:00", "2024-11-03T06:15"],
        id="ny-fall-every-15-from-the-end-of-the-first-pass",
    ),
    pytest.param(
        "*/15 * * * *",
        NY,
        "2024-11-03T06:10",
        ["2024-11-03T06:15", "2024-11-03T06:30"],
        id="ny-fall-every-15-after-inside-the-second-pass",
    ),
    pytest.param(
        "*/20 1 * * *",
        NY,
        "2024-11-03T04:00",
        [
            "2024-11-03T05:00",
            "2024-11-03T05:20",
            "2024-11-03T05:40",
            "2024-11-03T06:00",
            "2024-11-03T06:20",
            "2024-11-03T06:40",
            "2024-11-04T06:00",
        ],
        id="ny-fall-every-20-in-hour-1-fires-six-times",
    ),
    pytest.param(
        "*/20 1 * * *",
        NY,
        "2024-11-03T06:10",
        ["2024-11-03T06:20", "2024-11-03T06:40", "2024-11-04T06:00"],
        id="ny-fall-every-20-in-hour-1-after-inside-the-second-pass",
    ),
    # New York, spring forward: real time goes on, non-existent wall times never fire.
    pytest.param(
        "*/15 * * * *",
        NY,
        "2024-03-10T06:40",
        ["2024-03-10T06:45", "2024-03-10T07:00", "2024-03-10T07:15"],
        id="ny-spring-every-15-minutes-straight-through",
    ),
    pytest.param(
        "0 * * * *",
        NY,
        "2024-03-10T05:30",
        ["2024-03-10T06:00", "2024-03-10T07:00", "2024-03-10T08:00"],
        id="ny-spring-hourly-skips-0200",
    ),
    pytest.param(
        "*/20 2 * * *",
        NY,
        "2024-03-09T08:00",
        ["2024-03-11T06:00", "2024-03-11T06:20", "2024-03-11T06:40"],
        id="ny-spring-every-20-in-hour-2-skips-the-day",
    ),
    # London.
    pytest.param(
        "*/20 1 * * *",
        LONDON,
        "2024-03-30T12:00",
        ["2024-04-01T00:00", "2024-04-01T00:20", "2024-04-01T00:40"],
        id="london-spring-every-20-in-hour-1-skips-the-day",
    ),
    pytest.param(
        "*/20 1 * * *",
        LONDON,
        "2024-10-26T12:00",
        [
            "2024-10-27T00:00",
            "2024-10-27T00:20",
            "2024-10-27T00:40",
            "2024-10-27T01:00",
            "2024-10-27T01:20",
            "2024-10-27T01:40",
            "2024-10-28T01:00",
        ],
        id="london-fall-every-20-in-hour-1-fires-six-times",
    ),
    pytest.param(
        "0 * * * *",
        LONDON,
        "2024-10-26T23:30",
        ["2024-10-27T00:00", "2024-10-27T01:00", "2024-10-27T02:00"],
        id="london-fall-hourly-fires-both-0100s",
    ),
    pytest.param(
        "*/15 * * * *",
        LONDON,
        "2024-03-31T00:40",
        ["2024-03-31T00:45", "2024-03-31T01:00", "2024-03-31T01:15"],
        id="london-spring-every-15-minutes-straight-through",
    ),
    # Sydney.
    pytest.param(
        "0 * * * *",
        SYDNEY,
        "2024-04-06T14:30",
        ["2024-04-06T15:00", "2024-04-06T16:00", "2024-04-06T17:00"],
        id="sydney-april-hourly-fires-both-0200s",
    ),
    pytest.param(
        "*/30 2 * * *",
        SYDNEY,
        "2024-04-06T12:00",
        [
            "2024-04-06T15:00",
            "2024-04-06T15:30",
            "2024-04-06T16:00",
            "2024-04-06T16:30",
            "2024-04-07T16:00",
        ],
        id="sydney-april-every-30-in-hour-2-fires-four-times",
    ),
    pytest.param(
        "*/30 * * * *",
        SYDNEY,
        "2024-10-05T15:00",
        ["2024-10-05T15:30", "2024-10-05T16:00", "2024-10-05T16:30"],
        id="sydney-october-every-30-minutes-straight-through",
    ),
    # Lord Howe: 30-minute shifts.
    pytest.param(
        "*/15 * * * *",
        LORD_HOWE,
        "2024-04-06T14:40",
        ["2024-04-06T14:45", "2024-04-06T15:00", "2024-04-06T15:15", "2024-04-06T15:30"],
        id="lord-howe-april-every-15-through-the-repeated-half-hour",
    ),
    pytest.param(
        "*/15 * * * *",
        LORD_HOWE,
        "2024-10-05T15:10",
        ["2024-10-05T15:15", "2024-10-05T15:30", "2024-10-05T15:45"],
        id="lord-howe-october-every-15-straight-through",
    ),
    pytest.param(
        "0 * * * *",
        LORD_HOWE,
        "2024-10-05T14:00",
        ["2024-10-05T14:30", "2024-10-05T16:00"],
        id="lord-howe-october-hourly-skips-0200",
    ),
    pytest.param(
        "0 * * * *",
        LORD_HOWE,
        "2024-04-06T13:30",
        ["2024-04-06T14:00", "2024-04-06T15:30", "2024-04-06T16:30"],
        id="lord-howe-april-hourly-0100-once-then-0200",
    ),
    # Havana.
    pytest.param(
        "0 * * * *",
        HAVANA,
        "2024-11-03T03:30",
        ["2024-11-03T04:00", "2024-11-03T05:00", "2024-11-03T06:00"],
        id="havana-november-hourly-fires-both-midnights",
    ),
    pytest.param(
        "0 * * * *",
        HAVANA,
        "2024-03-10T03:30",
        ["2024-03-10T04:00", "2024-03-10T05:00", "2024-03-10T06:00"],
        id="havana-march-hourly-skips-midnight",
    ),
]


@pytest.mark.parametrize(("expression", "tz", "after", "expected"), FIXED_TIME)
def test_it_fires_fixed_time_schedules_once_per_wall_time(
    expression: str, tz: str, after: str, expected: list[str]
) -> None:
    assert next_n(expression, tz, z(after), len(expected)) == [z(e) for e in expected]
    assert next_after(expression, tz, z(after)) == z(expected[0])


@pytest.mark.parametrize(("expression", "tz", "after", "expected"), INTERVAL)
def test_it_fires_interval_schedules_at_every_real_matching_instant(
    expression: str, tz: str, after: str, expected: list[str]
) -> None:
    assert next_n(expression, tz, z(after), len(expected)) == [z(e) for e in expected]
    assert next_after(expression, tz, z(after)) == z(expected[0])


# A whole local day: how many times each kind fires on the transition days.
DAY_COUNTS = [
    pytest.param("*/15 * * * *", NY, "2024-03-10", 92, id="ny-spring-day-has-23-hours"),
    pytest.param("*/15 * * * *", NY, "2024-11-03", 100, id="ny-fall-day-has-25-hours"),
    pytest.param("0 * * * *", LORD_HOWE, "2024-10-06", 23, id="lord-howe-spring-hourly"),
    pytest.param("*/30 * * * *", LORD_HOWE, "2024-04-07", 49, id="lord-howe-fall-half-hourly"),
    pytest.param("30 1 * * *", NY, "2024-11-03", 1, id="ny-fall-fixed-once"),
    pytest.param("30 2 * * *", NY, "2024-03-10", 1, id="ny-spring-fixed-once"),
    pytest.param("0,30 2 * * *", NY, "2024-03-10", 1, id="ny-spring-fixed-collapsed-once"),
    pytest.param("0 0 * * *", HAVANA, "2024-03-10", 1, id="havana-spring-midnight-once"),
    pytest.param("0 0 * * *", HAVANA, "2024-11-03", 1, id="havana-fall-midnight-once"),
    pytest.param("15 2 * * *", LORD_HOWE, "2024-10-06", 1, id="lord-howe-spring-fixed-once"),
]


@pytest.mark.parametrize(("expression", "tz", "day", "count"), DAY_COUNTS)
def test_it_fires_the_right_number_of_times_on_transition_days(
    expression: str, tz: str, day: str, count: int
) -> None:
    zone = ZoneInfo(tz)
    start = datetime.fromisoformat(day).replace(tzinfo=zone)  # local midnight
    after = start - timedelta(microseconds=1)  # so a run exactly at local midnight counts
    fired = [
        instant
        for instant in next_n(expression, tz, after, 200)
        if instant.astimezone(zone).date() == start.date()
    ]
    assert len(fired) == count


def test_it_keeps_interval_runs_evenly_spaced_in_real_time_across_both_transitions() -> None:
    # Every 15 real minutes from before the spring gap to after the fall overlap: no gap, no
    # double, no 45- or 75-minute hole.
    instants = next_n("*/15 * * * *", NY, z("2024-03-09T00:00"), 4 * 24 * 241)
    assert instants[-1] > z("2024-11-04T00:00")
    assert {later - earlier for earlier, later in zip(instants, instants[1:], strict=False)} == {
        timedelta(minutes=15)
    }
