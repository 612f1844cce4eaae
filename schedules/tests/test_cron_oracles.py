"""Two independent oracles for next_after, so the hand-written tables are not the only judge.

1. A brute-force minute-by-minute walk over real time around every 2024 transition of a set of
   awkward zones, applying SPEC §4 literally: an interval schedule fires at each real minute whose
   wall time matches; a fixed-time schedule fires at the real minute at which the local clock
   first reaches a matching wall time (a running maximum of the wall clock, so the second pass of
   a repeated hour reaches nothing new and a jump over a gap reaches every skipped time at once).
   The matchers are written out by hand per expression, not taken from parse().
2. croniter, in UTC only, for plain expressions where its semantics are ours (no DST, no ``*/N``
   in a day field combined with the other day field).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from schedules.cron import next_after, next_n, parse

MINUTE = timedelta(minutes=1)
Wall = datetime  # a naive local wall time

# (expression, matcher on the naive local wall time), written independently of parse().
EXPRESSIONS: list[tuple[str, Callable[[Wall], bool]]] = [
    ("*/15 * * * *", lambda w: w.minute % 15 == 0),
    ("0 * * * *", lambda w: w.minute == 0),
    ("*/20 1 * * *", lambda w: w.hour == 1 and w.minute % 20 == 0),
    ("*/30 2 * * *", lambda w: w.hour == 2 and w.minute % 30 == 0),
    ("* * * * *", lambda w: True),
    ("30 2 * * *", lambda w: (w.hour, w.minute) == (2, 30)),
    ("0,30 2 * * *", lambda w: w.hour == 2 and w.minute in (0, 30)),
    ("30 1 * * *", lambda w: (w.hour, w.minute) == (1, 30)),
    ("15 2 * * *", lambda w: (w.hour, w.minute) == (2, 15)),
    ("0 0 * * *", lambda w: (w.hour, w.minute) == (0, 0)),
    ("5 0-3 * * *", lambda w: w.hour <= 3 and w.minute == 5),
    ("0-59/10 1-2 * * *", lambda w: w.hour in (1, 2) and w.minute % 10 == 0),
]

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Havana",  # transitions at midnight
    "Antarctica/Troll",  # 2-hour DST
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/Dublin",  # "negative DST" in the tz database
]


@functools.cache
def transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """UTC instants at which the zone's offset changes during ``year`` (to the minute)."""
    found = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    while t < end:
        if t.astimezone(zone).utcoffset() != (t + step).astimezone(zone).utcoffset():
            m = t
            while m.astimezone(zone).utcoffset() == t.astimezone(zone).utcoffset():
                m += MINUTE
            found.append(m)
        t += step
    return found


def brute_force(
    matches: Callable[[Wall], bool], interval: bool, zone: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """Fire instants in (start, end], walking real time one minute at a time."""
    fires = []
    high = start.astimezone(zone).replace(tzinfo=None)  # the wall clock's running maximum
    t = start + MINUTE
    while t <= end:
        wall = t.astimezone(zone).replace(tzinfo=None, fold=0)
        if interval:
            if matches(wall):
                fires.append(t)
        elif wall > high:
            reached = high + MINUTE
            while reached <= wall:  # every wall time the clock reaches for the first time
                if matches(reached):
                    fires.append(t)
                    break
                reached += MINUTE
            high = wall
        t += MINUTE
    return fires


def walk(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    fires = []
    t = next_after(expression, zone, start)
    while t <= end:
        fires.append(t)
        t = next_after(expression, zone, t)
    return fires


@pytest.mark.parametrize(("expression", "matches"), EXPRESSIONS, ids=[e for e, _ in EXPRESSIONS])
@pytest.mark.parametrize("tz", ZONES)
def test_it_agrees_with_a_brute_force_walk_around_every_transition(
    tz: str, expression: str, matches: Callable[[Wall], bool]
) -> None:
    zone = ZoneInfo(tz)
    changes = transitions(zone, 2024)
    assert len(changes) == 2, changes
    interval = parse(expression).is_interval
    for change in changes:
        start, end = change - timedelta(hours=6), change + timedelta(hours=6)
        assert walk(expression, zone, start, end) == brute_force(
            matches, interval, zone, start, end
        ), change


def test_it_is_exercised_on_both_kinds_of_schedule() -> None:
    kinds = {parse(expression).is_interval for expression, _ in EXPRESSIONS}
    assert kinds == {True, False}


CRONITER_EXPRESSIONS = [
    "*/15 * * * *",
    "30 2 * * *",
    "0 9 * * 1-5",
    "0 22 * * MON-FRI",
    "0 0 1 * *",
    "0 0 L * *",
    "0 9 * * MON#1",
    "0 9 * * 5#3",
    "5,35 */3 * * *",
    "0 0 31 * *",
    "0 12 * JAN,JUL *",
    "0 0 13 * FRI",
    "0 9 1,15 * MON",
    "23 0-20/2 * * *",
    "0 4 8-14 * *",
    "0 0,12 1 */2 *",
    "0 0 29 2 *",
    "@weekly",
    "@monthly",
]
CRONITER_STARTS = ["2024-01-01T00:00", "2024-02-28T23:59", "2025-06-15T12:34", "2099-12-31T00:00"]


@pytest.mark.parametrize("start", CRONITER_STARTS)
@pytest.mark.parametrize("expression", CRONITER_EXPRESSIONS)
def test_it_agrees_with_croniter_in_utc_for_plain_expressions(expression: str, start: str) -> None:
    after = datetime.fromisoformat(start).replace(tzinfo=UTC)
    it = croniter(expression, after)
    expected = [it.get_next(datetime) for _ in range(40)]
    assert next_n(expression, "UTC", after, 40) == expected
