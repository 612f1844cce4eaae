"""Backfill (SPEC §14): the occurrences of a past range of a schedule, and whether the range may
be backfilled — pure: no queries, no clock (`now` is passed in), no writes.

The range is inclusive at both ends and holds the schedule's nominal occurrences, as the tick
would have run them (schedules.cron, in the schedule's timezone, DST rules of §4). It is walked
through schedules.preview.walk, so the rules the preview applies to a schedule's future
(calendars, maintenance windows…) can be applied to its past the same way: an occurrence a rule
skips is listed with its reason and not enqueued. The bounds and run budget are not rules here:
like a forced run, a backfill is manual — it may fill a range before `startsAt` or after the
schedule stopped, and it spends no run budget (schedules.decisions).

A range is counted before anything is listed: the walk stops at MAX_OCCURRENCES + 1, so an
every-minute schedule over 90 days costs 1,001 steps, not 129,600.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice, takewhile

from config.clock import iso_z
from schedules import cron
from schedules.preview import Rule, SkippedRun, occurrences_after, walk

# SPEC §14: at most this many occurrences per backfill.
MAX_OCCURRENCES = 1000
# Occurrences are whole minutes: "at or after t" is "strictly after t minus a microsecond".
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class BackfillRange:
    runs: list[datetime]  # the occurrences to enqueue, oldest first
    skipped: list[SkippedRun]  # occurrences a rule skipped (at most preview.MAX_SKIPPED listed)
    too_many: bool = False  # more than the limit in the range: nothing listed


def range_occurrences(
    spec: cron.CronSpec | str,
    tz: str,
    start: datetime,
    end: datetime,
    *,
    rules: Sequence[Rule] = (),
    limit: int = MAX_OCCURRENCES,
) -> BackfillRange:
    """The occurrences in [start, end] that no rule objects to, oldest first; `too_many` when
    the range holds more than `limit` (counted lazily, at most limit + 1 looked at)."""
    in_range = takewhile(lambda o: o <= end, occurrences_after(spec, tz, start - _JUST_BEFORE))
    nominal = list(islice(in_range, limit + 1))
    if len(nominal) > limit:
        return BackfillRange([], [], too_many=True)
    result = walk(iter(nominal), rules, count=len(nominal))
    return BackfillRange(result.runs, result.skipped)


def range_errors(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    retention: timedelta,
    one_time: bool,
) -> dict[str, str]:
    """Why [start, end] cannot be backfilled, keyed by the API field to blame; {} when it can.

    Future occurrences are the schedule's own (the tick runs them); occurrences older than the
    job retention would be purged as soon as they ran, and nothing could show they did.
    """
    if one_time:
        return {"runAt": "A one-time schedule (runAt) has no range of occurrences to backfill."}
    errors: dict[str, str] = {}
    if start > end:
        errors["from"] = f"from ({iso_z(start)}) is after to ({iso_z(end)})."
    if end > now:
        errors["to"] = (
            f"to ({iso_z(end)}) is in the future (now is {iso_z(now)}): the schedule runs its "
            "future occurrences itself."
        )
    oldest = now - retention
    if start < oldest:
        errors["from"] = (
            f"from ({iso_z(start)}) is older than the job retention of {retention.days} days "
            f"(the oldest allowed is {iso_z(oldest)})."
        )
    return errors


def too_many_error(limit: int = MAX_OCCURRENCES) -> dict[str, str]:
    return {"to": f"The range holds more than {limit:,} occurrences: backfill a shorter range."}
