"""Beat: django-celery-beat's DatabaseScheduler holds only the fixed entries defined in code (the
every-minute tick, the watchdog); customer schedules never become PeriodicTask rows."""

import pytest
from celery.schedules import crontab
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from schedules.tasks import evaluate_due_schedules
from tests.factories import ScheduleFactory


def test_it_defines_one_every_minute_tick_that_expires_within_the_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["scheduled-runs-tick"]
    assert entry["task"] == evaluate_due_schedules.name
    assert entry["schedule"] == crontab()  # every minute
    assert entry["options"]["expires"] < 60
    assert entry["options"]["ignore_result"] is True
    assert evaluate_due_schedules.ignore_result is True


# The scheduler closes and reopens database connections as beat does: needs real commits.
@pytest.mark.django_db(transaction=True)
def test_it_keeps_customer_schedules_out_of_the_beat_tables():
    ScheduleFactory.create_batch(5)
    scheduler = DatabaseScheduler(app=app, lazy=False)
    # Celery's own housekeeping entry aside, only ours — five schedules added none.
    names = set(PeriodicTask.objects.values_list("name", flat=True)) - {"celery.backend_cleanup"}
    assert names == set(settings.CELERY_BEAT_SCHEDULE)
    assert set(scheduler.schedule) >= names
    tasks = set(PeriodicTask.objects.filter(name__in=names).values_list("task", flat=True))
    assert tasks == {
        "schedules.tasks.evaluate_due_schedules",
        "agents.tasks.run_watchdog",
        "schedules.tasks.purge_history",
        "schedules.tasks.sweep_alerts",
    }
