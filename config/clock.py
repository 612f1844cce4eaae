"""The control plane's clock: the database's (SPEC §7, §10).

Web, worker and beat processes may run on hosts whose clocks disagree by seconds or minutes. A
retry due "now" on a watchdog whose clock runs ahead would be refused by a claim served by a
web process whose clock runs behind; a lease taken on one clock would be judged on another.
So every timestamp that decides something — claims, heartbeats, deadlines, `retry_at`, the
pickup and lost thresholds, leases — comes from the one database they all share, read once
where a request or a task enters and passed down as `now` (tests still pass their own).
"""

from __future__ import annotations

from datetime import datetime

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
