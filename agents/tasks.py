"""Celery tasks of the agents app (the control plane's): interfaces only.

`run_watchdog` is the beat entry `jobs-watchdog`. The `run_job` task is not here: it runs on an
agent's own queue inside the agent runtime (agents/runtime/worker.py), outside the trust boundary.
"""

import logging

from celery import shared_task

from agents import watchdog
from agents.runtime.logformat import log_event
from config import clock

log = logging.getLogger(__name__)


@shared_task(name="agents.tasks.run_watchdog", ignore_result=True)
def run_watchdog() -> dict:
    report = watchdog.watchdog_run(now=clock.control_plane_now())
    if any(report.values()):
        log_event(
            log,
            logging.INFO,
            "watchdog",
            timed_out=len(report["timedOut"]),
            lost=len(report["lost"]),
            republished=len(report["republished"]),
            expired=len(report["expired"]),
            start_deadline_exceeded=len(report["startDeadlineExceeded"]),
        )
    return report
