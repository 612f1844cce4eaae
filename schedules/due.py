"""Which occurrence of a due schedule runs now, which were missed, and when it is due next.

Pure (SPEC §4 "Missed occurrences"): at most one catch-up run — the most recent occurrence that
is due, if it is younger than the catch-up window (or simply on time); every older one is
recorded as skipped `missed`. Never a burst. nextRunAt advances from the occurrence just
handled, never from "now + 1 minute".

Bounds (SPEC §14 "When it runs"), instants all, so a DST change cannot move them: a recurring
schedule's first run is its first occurrence at or after `starts_at`; none runs at or after
`ends_at` — the occurrence that would is where it stops (`ended`). A one-time schedule has one
occurrence, `run_at`, under the same catch-up rules; after it comes due it has none. The run
budget is counted by schedules.decisions, which sees the dispatch.

Jitter (schedules.jitter): a jittered occurrence fires at occurrence + offset; the catch-up window
still counts from the occurrence, the on-time grace from the fire instant (`jitter=`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schedules import cron
from schedules.models import Bounds, StopReason

# An occurrence this young is on time even with a catch-up window of 0: the tick runs once a
# minute and may itself be a little late.
ON_TIME_GRACE = timedelta(seconds=90)
# Missed occurrences recorded one event each; the rest are only counted (up to MAX_MISSED_COUNT).
MAX_MISSED_EVENTS = 20
MAX_MISSED_COUNT = 1000
# How far back to look for the latest due occurrence, widening: cheap for frequent schedules,
# bounded for rare ones (8 years covers Feb 29 across 2100).
_LOOKBACKS = (
    timedelta(minutes=2),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=32),
    timedelta(days=367),
    timedelta(days=8 * 366),
)


# Occurrences are whole minutes: "at or after t" is "strictly after t minus a microsecond".
_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class DueResolution:
    run_at: datetime | None  # the occurrence to run now, if any
    missed: list[datetime] = field(default_factory=list)  # the oldest MAX_MISSED_EVENTS missed
    missed_total: int = 0  # capped at MAX_MISSED_COUNT
    # The following occurrence; None for a one-time schedule (it has no other).
    next_run_at: datetime | None = None
    # next_run_at is at or after the end bound: it never runs, and the schedule stops there.
    ended: bool = False


@dataclass(frozen=True)
class NextRun:
    """A schedule's next run, or None and why it has none (a StopReason value)."""

    at: datetime | None
    stopped_reason: str = ""


def first_run(
    *,
    spec: cron.CronSpec | None,
    tz: str,
    bounds: Bounds,
    after: datetime,
    once_done: str = "",
) -> NextRun:
    """The next run from `after` on create, edit or resume: the first occurrence strictly after
    `after` and at or after `starts_at`, if it is before `ends_at` and runs are left.

    A one-time schedule's next run is its `run_at` — even one already past, which the tick then
    handles under the catch-up rules (run late inside the window, `missed` outside it) — unless
    that run has already come due: `once_done` is the StopReason it stopped with then.
    """
    if bounds.run_at is not None:
        return NextRun(None, once_done) if once_done else NextRun(bounds.run_at)
    if spec is None:
        raise ValueError("a recurring schedule needs a cron spec")
    if bounds.remaining_runs == 0:
        return NextRun(None, StopReason.RUN_BUDGET_SPENT)
    start = after
    if bounds.starts_at is not None:
        start = max(after, bounds.starts_at - _JUST_BEFORE)
    occurrence = cron.next_after(spec, tz, start)
    if bounds.ends_at is not None and occurrence >= bounds.ends_at:
        return NextRun(None, StopReason.ENDED)
    return NextRun(occurrence)


def _horizon(now: datetime, catch_up_window: timedelta, jitter: timedelta) -> datetime:
    """The oldest occurrence that still runs at `now`: the catch-up window counts from the
    occurrence, the on-time grace from when it fires (occurrence + its jitter offset), so a
    jittered run is never late merely for being jittered."""
    return now - max(catch_up_window, ON_TIME_GRACE + jitter)


def resolve_once(
    *,
    run_at: datetime,
    now: datetime,
    catch_up_window: timedelta,
    jitter: timedelta = timedelta(0),
) -> DueResolution:
    """A one-time schedule that is due: its one run, on time, late inside the catch-up window,
    or missed; nothing follows it. `jitter`: its offset (it fires at run_at + jitter)."""
    on_time = run_at >= _horizon(now, catch_up_window, jitter)
    return DueResolution(
        run_at=run_at if on_time else None,
        missed=[] if on_time else [run_at],
        missed_total=0 if on_time else 1,
    )


def latest_occurrence_at_or_before(
    spec: cron.CronSpec, tz: str, *, not_before: datetime, now: datetime
) -> datetime:
    """The last occurrence in [not_before, now]; `not_before` must itself be an occurrence."""
    for lookback in _LOOKBACKS:
        start = max(now - lookback, not_before - timedelta(seconds=1))
        occ = cron.next_after(spec, tz, start)
        if occ <= now:
            while (following := cron.next_after(spec, tz, occ)) <= now:
                occ = following
            return occ
        if start < not_before:
            break
    return not_before


def resolve_due(
    *,
    spec: cron.CronSpec,
    tz: str,
    next_run_at: datetime,
    now: datetime,
    catch_up_window: timedelta,
    until: datetime | None = None,
    jitter: timedelta = timedelta(0),
) -> DueResolution:
    """For a schedule whose next_run_at <= now; `until` is its end bound (ends_at), if any:
    occurrences at or after it neither run nor count as missed. `jitter` is next_run_at's own
    offset (it fired at next_run_at + jitter): its on-time grace counts from there."""
    return _resolve_due(spec, tz, next_run_at, now, catch_up_window, until, jitter)


# Pure, so memoized like cron.next_after: the rows of a due minute share a few (expression,
# timezone, instant) — 10,000 rows of 15 expressions x 30 timezones ask ~450 distinct questions,
# and each answer is a few cron steps. An answer is shared by the rows that asked it: read it,
# never change it (the dataclass is frozen; its `missed` list is to be read only too).
@functools.lru_cache(maxsize=4096)
def _resolve_due(
    spec: cron.CronSpec,
    tz: str,
    next_run_at: datetime,
    now: datetime,
    catch_up_window: timedelta,
    until: datetime | None,
    jitter: timedelta,
) -> DueResolution:
    if until is not None and next_run_at >= until:
        # Stored before an edit moved the end (the edit recomputes; this is the last line).
        return DueResolution(run_at=None, next_run_at=next_run_at, ended=True)
    horizon = now - max(catch_up_window, ON_TIME_GRACE)
    own_horizon = _horizon(now, catch_up_window, jitter)  # next_run_at's, counting its jitter
    if until is not None:
        # The last instant an occurrence may have come due at; the catch-up horizon stays `now`'s.
        now = min(now, until - _JUST_BEFORE)
    following = cron.next_after(spec, tz, next_run_at)
    ended = until is not None and following >= until
    if following > now:
        # The common case — the tick is on time: one cron step, no search.
        on_time = next_run_at >= own_horizon
        return DueResolution(
            run_at=next_run_at if on_time else None,
            missed=[] if on_time else [next_run_at],
            missed_total=0 if on_time else 1,
            next_run_at=following,
            ended=ended,
        )
    latest = latest_occurrence_at_or_before(spec, tz, not_before=next_run_at, now=now)
    run_at = latest if latest >= horizon else None

    missed: list[datetime] = []
    total = 0
    occ = next_run_at
    while total < MAX_MISSED_COUNT and (occ < latest or (run_at is None and occ == latest)):
        if len(missed) < MAX_MISSED_EVENTS:
            missed.append(occ)
        total += 1
        if occ == latest:
            break
        occ = cron.next_after(spec, tz, occ)
    following = cron.next_after(spec, tz, latest)
    return DueResolution(
        run_at=run_at,
        missed=missed,
        missed_total=total,
        next_run_at=following,
        ended=until is not None and following >= until,
    )
