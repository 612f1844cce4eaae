"""Runtime statistics of a schedule (SPEC §14 "Knowing what happened"): pure, no DB, no clock.

What the numbers mean (schedules.selectors.schedule_stats reads them, over the 30 days before
`now`, by the jobs' created_at):
- runs: jobs created in the window, whatever their status;
- successRate: succeeded ÷ finished (succeeded, failed, timed out, canceled, lost); None
  without a finished run;
- duration: finished_at − started_at of the finished jobs that started. A retried job's
  started_at is its last attempt's, so this is the last attempt's run time;
- queue wait: started_at − created_at (from dispatch — or from being held for a slot — to the
  agent's claim), of the jobs that started on their first attempt: a retried job's started_at
  would count the retry delay as waiting;
- percentiles are PostgreSQL's percentile_cont: linear interpolation between the two closest
  ranks (`percentile_cont` below is the same formula, for the SQLite demo);
- suggestedMaxRuntimeMinutes: p95 duration × 1.5, rounded up to a whole minute, at least 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

WINDOW = timedelta(days=30)
HEADROOM = 1.5  # the suggested max runtime over the p95 duration


@dataclass(frozen=True)
class ScheduleStats:
    runs: int
    success_rate: float | None
    p50_duration_seconds: float | None
    p95_duration_seconds: float | None
    p50_queue_wait_seconds: float | None

    @property
    def suggested_max_runtime_minutes(self) -> int | None:
        return suggested_max_runtime_minutes(self.p95_duration_seconds)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY value): the value at rank
    fraction × (n − 1) of the sorted values, interpolated linearly between its neighbours.
    None for no values."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def success_rate(*, succeeded: int, finished: int) -> float | None:
    return succeeded / finished if finished else None


def suggested_max_runtime_minutes(p95_seconds: float | None) -> int | None:
    """p95 × 1.5 in whole minutes, rounded up (a limit rounded down would cut the slow runs
    it is meant to let finish), at least 1; None without a finished run."""
    if p95_seconds is None:
        return None
    return max(1, math.ceil(p95_seconds * HEADROOM / 60))
