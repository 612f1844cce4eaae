"""Celery interface of the schedules app: fetch inputs, call the engine. No logic here."""

import logging

from celery import shared_task
from django.utils import timezone

from schedules.engine import run_tick

log = logging.getLogger(__name__)


@shared_task(name="schedules.tasks.evaluate_due_schedules", ignore_result=True)
def evaluate_due_schedules() -> dict:
    """The every-minute beat tick: a full tick under the executor lease."""
    report = run_tick(now=timezone.now(), use_executor_lock=True)
    log.info(
        "event=tick triggered=%d skipped=%d errors=%d",
        len(report.triggered),
        len(report.skipped),
        len(report.errors),
    )
    return {"triggered": len(report.triggered), "errors": len(report.errors)}
