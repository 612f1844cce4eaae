"""Celery tasks of the agents app: interfaces only — fetch by id, call the service.

`run_job` runs on an agent's own queue (`agent.<id>`, consumed by `manage.py runagent`); its only
argument is the job id, never a secret. `run_watchdog` is the beat entry `jobs-watchdog`.
"""

import logging

from celery import shared_task
from django.utils import timezone

from agents import runner, watchdog

log = logging.getLogger(__name__)


# ignore_result: the outcome is the Job row. acks_late stays off (settings): a redelivered
# message must never be how a job is recovered — the claim drops duplicates, the watchdog
# recovers lost runs.
@shared_task(name="agents.tasks.run_job", bind=True, ignore_result=True)
def run_job(self, job_id: str) -> str:
    return runner.job_run(job_id=job_id, hostname=self.request.hostname or "")


@shared_task(name="agents.tasks.run_watchdog", ignore_result=True)
def run_watchdog() -> dict:
    report = watchdog.watchdog_run(now=timezone.now())
    if any(report.values()):
        log.info(
            "event=watchdog timed_out=%d lost=%d republished=%d expired=%d",
            *(len(report[k]) for k in ("timedOut", "lost", "republished", "expired")),
        )
    return report
