"""Signals the agents app sends to apps above it (it never imports them; STYLE.md).

`job_status_changed`: sent after a job's status change is committed, with `job` (the Job
instance, status already updated). `schedules` listens to keep `lastRunStatus` following the
schedule's latest job.

`jobs_settled`: sent INSIDE the transaction in which jobs reached a final status, with
`job_ids` (their rows already updated, not yet committed): what a receiver writes commits or
rolls back with the change itself — `schedules` writes its alert outbox rows there (SPEC §14).
A receiver's failure is logged and rolled back to a savepoint; it never undoes the change.

`watchdog_ran`: sent after a (non-dry) watchdog pass, with `now`: `schedules` looks there for
what no job reports — a stale tick, agents gone silent — and alerts (SPEC §14).
"""

from django.dispatch import Signal

job_status_changed = Signal()

jobs_settled = Signal()

watchdog_ran = Signal()
