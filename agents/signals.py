"""Signals the agents app sends to apps above it (it never imports them; STYLE.md).

`job_status_changed`: sent after a job's status change is committed, with `job` (the Job
instance, status already updated). `schedules` listens to keep `lastRunStatus` following the
schedule's latest job.

`watchdog_ran`: sent after a (non-dry) watchdog pass, with `now`: `schedules` looks there for
what no job reports — a stale tick, agents gone silent — and alerts (SPEC §14).
"""

from django.dispatch import Signal

job_status_changed = Signal()

watchdog_ran = Signal()
