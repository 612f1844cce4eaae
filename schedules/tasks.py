"""Celery interface of the schedules app: fetch inputs, call the engine. No logic here."""

import logging

from celery import shared_task
from django.conf import settings

from agents.runtime.logformat import log_event
from config import clock
from schedules import alerts
from schedules.engine import run_tick
from schedules.services import history_purge

log = logging.getLogger(__name__)


def _log(kind: str, report) -> dict:
    log_event(
        log,
        logging.INFO,
        kind,
        triggered=len(report.triggered),
        skipped=len(report.skipped),
        errors=len(report.errors),
    )
    return {"triggered": len(report.triggered), "errors": len(report.errors)}


@shared_task(name="schedules.tasks.evaluate_due_schedules", ignore_result=True)
def evaluate_due_schedules() -> dict:
    """The every-minute beat tick: a full tick under the executor lease.

    With TICK_EVALUATORS > 1, once the lease is held it also sends helper evaluators for the
    same instant to other worker processes: they walk the same due rows, and row locks
    (SKIP LOCKED) split the work between them — a busy minute is evaluated in parallel.
    """
    now = clock.control_plane_now()

    def start_helpers() -> None:
        for _ in range(settings.TICK_EVALUATORS - 1):
            # Expires with the minute: a helper that waited that long has nothing left to do.
            evaluate_due_schedules_helper.apply_async(args=[clock.iso_z(now)], expires=50)

    return _log("tick", run_tick(now=now, use_executor_lock=True, on_lease_acquired=start_helpers))


@shared_task(name="schedules.tasks.evaluate_due_schedules_helper", ignore_result=True)
def evaluate_due_schedules_helper(now_iso: str) -> dict:
    """One more evaluator of a tick already running under the lease (see above). It ends
    with that tick's budget, counted from the tick's `now`, not from when it was picked up."""
    now = clock.parse_iso(now_iso)
    # Both instants on the database's clock: the helper's host may disagree with the tick's.
    left = settings.TICK_TIME_BUDGET_SECONDS - (clock.control_plane_now() - now).total_seconds()
    if left <= 0:
        return {"triggered": 0, "errors": 0}
    report = run_tick(now=now, use_executor_lock=False, budget_seconds=left)
    return _log("tick_helper", report)


# Batches of each kind one run of the purge deletes before it sends itself again: a backlog is
# worked through in runs of seconds, between which the tick's messages get a worker process.
PURGE_BATCHES_PER_RUN = 10


@shared_task(name="schedules.tasks.purge_history", ignore_result=True)
def purge_history() -> dict:
    """The daily beat entry `history-purge`: old events and finished jobs (SPEC §10)."""
    result = history_purge(now=clock.control_plane_now(), max_batches=PURGE_BATCHES_PER_RUN)
    log_event(
        log,
        logging.INFO,
        "history_purge",
        jobs=result.jobs,
        events=result.events,
        done=result.done,
    )
    if not result.done:
        purge_history.apply_async(queue="celery", expires=3600)
    return {"jobs": result.jobs, "events": result.events, "done": result.done}


@shared_task(name="schedules.tasks.send_alerts", ignore_result=True)
def send_alerts(delivery_ids: list[str]) -> dict:
    """Send outbox rows (schedules.alerts.delivery_send), on the control plane's queue. A row
    that failed and has attempts left is sent again by this task after its backoff
    (`countdown`); if that message is lost, the sweep finds the row when it is due."""
    sent = retried = 0
    for delivery_id in delivery_ids:
        status = alerts.delivery_send(delivery_id=delivery_id, now=clock.control_plane_now())
        if status == "sent":
            sent += 1
        elif status == "pending":
            retried += 1
            delay = alerts.seconds_until_retry(delivery_id=delivery_id)
            try:
                send_alerts.apply_async(
                    args=[[delivery_id]], countdown=delay, queue="celery", retry=False
                )
            except Exception:  # noqa: BLE001 - the sweep resends it
                log_event(log, logging.WARNING, "alert_retry_enqueue_failed")
    return {"sent": sent, "retried": retried}


@shared_task(name="schedules.tasks.sweep_alerts", ignore_result=True)
def sweep_alerts() -> dict:
    """The beat entry `alerts-sweep`: pending deliveries whose attempt is due and that no
    sender holds (an after-commit message lost, a retry's message lost)."""
    due = alerts.deliveries_due(now=clock.control_plane_now())
    if due:
        alerts.enqueue_send(due)
    return {"due": len(due)}
