"""Jitter (SPEC §14 "When it runs"): spread the 9:00-sharp crowd over a few minutes.

Pure. A schedule with `jitter_seconds` fires each occurrence at `occurrence + offset`, the offset
a whole number of seconds in [0, jitter_seconds], deterministic per schedule and occurrence (a
BLAKE2b hash of the schedule's id and the occurrence's UTC instant), so every evaluator, every
retry of a tick and every preview agrees on it, and the schedules sharing one minute spread
evenly over the window.

The occurrence stays the nominal instant everywhere else: the job's `scheduled_for` (hence its
idempotency key), the events, the catch-up arithmetic. Only the tick's "is it due yet" reads the
jittered instant (Schedule.fire_at).

Never past the next occurrence: the tick runs once a minute, so a run picked up at
`occurrence + offset` starts up to one tick later; the offset is capped at
`next_occurrence - occurrence - TICK_INTERVAL` so the run always starts before the next
occurrence comes due (which would otherwise take its place and record it `missed`). A schedule
whose occurrences are one tick apart (`* * * * *`) therefore has no room to jitter: offset 0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from uuid import UUID

JITTER_MAX_SECONDS = 3600
# The tick's period (beat runs it every minute): how late after its fire instant a run may start.
TICK_INTERVAL = timedelta(minutes=1)


def jitter_bound(
    occurrence: datetime, jitter_seconds: int, next_occurrence: datetime | None
) -> int:
    """The largest offset, in seconds, an occurrence may get: `jitter_seconds`, capped so the run
    starts (within one tick) before `next_occurrence` (None: there is none, no cap)."""
    bound = max(0, min(jitter_seconds, JITTER_MAX_SECONDS))
    if next_occurrence is not None:
        room = int((next_occurrence - occurrence - TICK_INTERVAL).total_seconds())
        bound = min(bound, max(0, room))
    return bound


def jitter_offset(
    schedule_id: UUID,
    occurrence: datetime,
    jitter_seconds: int,
    next_occurrence: datetime | None,
) -> timedelta:
    """How long after the nominal `occurrence` this schedule fires it: whole seconds in
    [0, jitter_bound(...)], the same for the same schedule and occurrence, 0 without jitter."""
    bound = jitter_bound(occurrence, jitter_seconds, next_occurrence)
    if bound == 0:
        return timedelta(0)
    instant = occurrence.astimezone(UTC).isoformat()
    digest = blake2b(f"{schedule_id}|{instant}".encode(), digest_size=8).digest()
    # A 64-bit hash modulo at most 3,601: the bias is below 1e-15.
    return timedelta(seconds=int.from_bytes(digest, "big") % (bound + 1))
