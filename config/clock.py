"""The control plane's clock: the database's (SPEC §7, §10).

Web, worker and beat processes may run on hosts whose clocks disagree by seconds or minutes. A
retry due "now" on a watchdog whose clock runs ahead would be refused by a claim served by a
web process whose clock runs behind; a lease taken on one clock would be judged on another.
So every timestamp that decides something — claims, heartbeats, deadlines, `retry_at`, the
pickup and lost thresholds, leases — comes from the one database they all share, read once
where a request or a task enters and passed down as `now` (tests still pass their own).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import overload

from django.db import connection
from django.utils import timezone


def control_plane_now() -> datetime:
    """The database's current time (aware, UTC). On SQLite — the one-machine demo, where every
    process shares one clock anyway — the process's clock."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        # statement_timestamp(), not now(): inside a transaction now() is its start time.
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


# --- The one ISO-8601 format ------------------------------------------------------------------
# Every instant the product writes for a machine or a person to read back — API bodies, events,
# reports, agent answers, webhook payloads, log messages — is UTC with a `Z` and whole seconds:
# `2026-03-29T01:30:00Z`. DRF's DateTimeField writes the same (settings.REST_FRAMEWORK's
# DATETIME_FORMAT, in the UTC time zone Django runs in).
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@overload
def iso_z(instant: datetime) -> str: ...
@overload
def iso_z(instant: None) -> None: ...
def iso_z(instant: datetime | None) -> str | None:
    """`instant` in UTC as ISO-8601 with `Z`, whole seconds; None stays None. An aware instant in
    any zone is converted first (a Tokyo 10:00 is 01:00Z); a naive one is refused — it would be
    read as the host's local time."""
    if instant is None:
        return None
    return _iso_z(instant)


@lru_cache(maxsize=4096)
def _iso_z(instant: datetime) -> str:
    # Cached: a busy tick writes the same few instants thousands of times (every job of a due
    # minute has its scheduled_for in its idempotency key). Equal instants in other zones hash
    # alike, and their UTC text is the same.
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: pass an aware instant")
    utc = instant.astimezone(UTC)
    # The year zero-padded by hand: strftime's %Y writes the year 96 as "96", not ISO-8601.
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def parse_iso(text: str) -> datetime:
    """The inverse of `iso_z`, lenient in what it reads: any ISO-8601 instant with an offset or
    `Z` (fractions kept), returned aware in UTC. Naive text raises ValueError — the caller's
    clock zone is not ours to guess."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset: write it with Z or +hh:mm")
    return instant.astimezone(UTC)
