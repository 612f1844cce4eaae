"""Which occurrence of a due schedule runs now, which were missed, and when it is due next.

Pure (SPEC §4 "Missed occurrences"): at most one catch-up run — the most recent occurrence that
is due, if it is younger than the catch-up window (or simply on time); every older one is
recorded as skipped `missed`. Never a burst. nextRunAt advances from the occurrence just
handled, never from "now + 1 minute".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schedules import cron

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


@dataclass(frozen=True)
class DueResolution:
    run_at: datetime | None  # the occurrence to run now, if any
    missed: list[datetime] = field(default_factory=list)  # the oldest MAX_MISSED_EVENTS missed
    missed_total: int = 0  # capped at MAX_MISSED_COUNT
    next_run_at: datetime | None = None


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
) -> DueResolution:
    """For a schedule whose next_run_at <= now."""
    horizon = now - max(catch_up_window, ON_TIME_GRACE)
    following = cron.next_after(spec, tz, next_run_at)
    if following > now:
        # The common case — the tick is on time: one cron step, no search.
        on_time = next_run_at >= horizon
        return DueResolution(
            run_at=next_run_at if on_time else None,
            missed=[] if on_time else [next_run_at],
            missed_total=0 if on_time else 1,
            next_run_at=following,
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
    return DueResolution(
        run_at=run_at,
        missed=missed,
        missed_total=total,
        next_run_at=cron.next_after(spec, tz, latest),
    )
