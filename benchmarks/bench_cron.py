"""How long does next_after take? Prints microseconds per call for a realistic schedule mix.

The tick advances ``nextRunAt`` for every schedule it handles, up to 10,000 per minute, so the
budget is "well under a second" for 10,000 calls. Pure Python: needs no database or broker.

    python benchmarks/bench_cron.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from croniter import croniter  # noqa: E402

from schedules.cron import next_after, parse, validate_timezone  # noqa: E402

# Weighted like an RPA fleet: mostly daily/weekday fixed times, some intervals, a few month-end.
EXPRESSIONS = [
    ("30 2 * * *", 12),
    ("0 6 * * *", 8),
    ("15 7 * * 1-5", 10),
    ("0 9 * * MON-FRI", 10),
    ("0 */2 * * *", 4),
    ("*/15 * * * *", 8),
    ("*/5 8-18 * * 1-5", 6),
    ("0 * * * *", 6),
    ("@daily", 4),
    ("@hourly", 3),
    ("0 0 1 * *", 4),
    ("0 22 L * *", 3),
    ("0 9 * * MON#1", 3),
    ("0 0 13 * FRI", 1),
    ("45 23 * * SUN", 3),
    ("0,30 9-17 * * *", 4),
    ("0 3 1 1,4,7,10 *", 2),
    ("0 0 29 2 *", 1),
]
ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
]
N = 10_000
REPEATS = 5


def build_mix(seed: int = 42) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    exprs = [e for e, _ in EXPRESSIONS]
    weights = [w for _, w in EXPRESSIONS]
    return [(rng.choices(exprs, weights)[0], rng.choice(ZONES)) for _ in range(N)]


def per_call_us(mix: list[tuple[str, str]], after: datetime) -> float:
    """Median over REPEATS of the mean µs per next_after call (specs and zones already cached)."""
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for expression, tz in mix:
            next_after(expression, tz, after)
        runs.append((time.perf_counter() - start) / len(mix) * 1e6)
    return statistics.median(runs)


def chained_us(mix: list[tuple[str, str]], after: datetime, steps: int) -> float:
    """µs per call when advancing from the occurrence just handled, as the tick does."""
    start = time.perf_counter()
    for expression, tz in mix:
        t = after
        for _ in range(steps):
            t = next_after(expression, tz, t)
    return (time.perf_counter() - start) / (len(mix) * steps) * 1e6


def croniter_us(mix: list[tuple[str, str]], after: datetime) -> float:
    sample = mix[:2000]
    start = time.perf_counter()
    for expression, tz in sample:
        croniter(expression, after.astimezone(validate_timezone(tz))).get_next(datetime)
    return (time.perf_counter() - start) / len(sample) * 1e6


def main() -> None:
    mix = build_mix()
    parse.cache_clear()
    start = time.perf_counter()
    for expression, tz in mix:
        parse(expression)
        validate_timezone(tz)
    warm_up_ms = (time.perf_counter() - start) * 1e3
    for expression, tz in mix:  # warm the per-spec month memo too
        next_after(expression, tz, datetime(2026, 11, 26, 14, 0, tzinfo=UTC))

    ordinary = per_call_us(mix, datetime(2026, 11, 26, 14, 0, tzinfo=UTC))
    dst_night = per_call_us(mix, datetime(2024, 11, 3, 5, 30, tzinfo=UTC))  # NY in its 2nd 1 AM
    chained = chained_us(mix, datetime(2026, 3, 1, 0, 0, tzinfo=UTC), steps=20)
    print(f"schedules: {N} ({len(EXPRESSIONS)} expressions x {len(ZONES)} timezones, weighted)")
    print(f"python: {sys.version.split()[0]}")
    print(f"parse + validate_timezone, cold caches, {N} schedules: {warm_up_ms:.1f} ms")
    print(f"next_after, ordinary instant (2026-11-26T14:00Z): {ordinary:.1f} us/call")
    print(f"next_after, DST night (2024-11-03T05:30Z):        {dst_night:.1f} us/call")
    print(f"next_after, chained from the previous run (x20):  {chained:.1f} us/call")
    print(f"=> one tick advancing {N} schedules: {ordinary * N / 1000:.0f} ms")
    print(
        f"croniter (construct + get_next), for reference: {croniter_us(mix, datetime(2026, 11, 26, 14, 0, tzinfo=UTC)):.1f} us/call"
    )


if __name__ == "__main__":
    main()
