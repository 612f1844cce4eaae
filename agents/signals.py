"""Signals the agents app sends to apps above it (it never imports them; STYLE.md).

`job_status_changed`: sent after a job's status change is committed, with `job` (the Job
instance, status already updated). `schedules` listens to keep `lastRunStatus` following the
schedule's latest job.
"""

from django.dispatch import Signal

job_status_changed = Signal()
