"""Jobs and events reference their schedule without a database constraint (agents.Job says
why), so deleting a schedule must never leave rows pointing at nothing: a delete that comes
while a tick holds the schedule waits for the tick's commit and then collects what it wrote —
the events deleted, the job kept as history with no schedule."""

import threading
import time

import pytest
from django.db import connection

from agents.models import Job
from schedules import engine
from schedules.models import ScheduleEvent
from schedules.services import schedules_delete

pytestmark = pytest.mark.django_db(transaction=True)


def _a_backend_waits_for_a_lock(seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_locks, not pg_stat_activity: that one is a snapshot for the whole transaction
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_a_delete_during_a_tick_collects_the_tick_s_job_and_events(now, make_due, monkeypatch):
    schedule = make_due()
    deleted, blocked = threading.Event(), []

    def delete_in_own_connection():
        try:
            schedules_delete(schedule_ids=[schedule.id], now=now)
        finally:
            connection.close()
            deleted.set()

    real_apply = engine._apply

    def apply_once_the_delete_waits(decisions, **kw):
        # The tick holds the schedule's row lock here, its job not yet written.
        threading.Thread(target=delete_in_own_connection).start()
        blocked.append(_a_backend_waits_for_a_lock())
        return real_apply(decisions, **kw)

    monkeypatch.setattr(engine, "_apply", apply_once_the_delete_waits)
    report = engine.run_tick(now=now, use_executor_lock=False)

    assert deleted.wait(30)
    assert blocked == [True]
    assert len(report.triggered) == 1
    job = Job.objects.get()
    assert job.id == report.triggered[0].job_id
    assert job.schedule_id is None  # kept as history, no longer pointing at the schedule
    assert not ScheduleEvent.objects.filter(schedule_id=schedule.id).exists()
