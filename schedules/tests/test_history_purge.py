"""Retention (SPEC §10): schedule events older than EVENT_RETENTION_DAYS and finished jobs older
than JOB_RETENTION_DAYS are deleted in bounded batches by a daily task and by
`manage.py purge_history`; never an active job nor an event whose job is active; a dry run
deletes nothing; a schedule's lastRunAt/lastRunStatus stay as they were."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Job, JobAttempt, JobStatus
from schedules import services, tasks
from schedules.models import EventKind, RunStatus, ScheduleEvent
from schedules.services import history_purge, schedule_events_purge
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(make_due):
    return make_due()


@pytest.fixture
def event(schedule, now):
    def make(days_ago, job=None, kind=EventKind.TRIGGERED):
        return ScheduleEvent.objects.create(
            organization=schedule.organization,
            schedule=schedule,
            kind=kind,
            job=job,
            created_at=now - timedelta(days=days_ago),
        )

    return make


@pytest.fixture
def job(schedule, now):
    def make(days_ago, status=JobStatus.SUCCEEDED):
        at = now - timedelta(days=days_ago)
        j = JobFactory(
            schedule=schedule,
            status=status,
            created_at=at - timedelta(minutes=1),
            finished_at=None if status in ("pending", "queued", "running", "retrying") else at,
        )
        JobAttempt.objects.create(job=j, number=1, status=status, finished_at=j.finished_at)
        return j

    return make


def test_it_deletes_events_older_than_the_retention_and_keeps_younger_ones(event, now):
    old = [event(31), event(45, kind=EventKind.SKIPPED), event(400, kind=EventKind.ERROR)]
    young = event(29)

    result = history_purge(now=now)

    assert result.events == len(old)
    assert list(ScheduleEvent.objects.all()) == [young]


def test_it_keeps_an_old_event_whose_job_is_still_active(event, job, now):
    running = job(40, status=JobStatus.RUNNING)
    finished = job(40)
    kept = event(40, job=running)
    event(40, job=finished)

    assert history_purge(now=now).events == 1
    assert list(ScheduleEvent.objects.all()) == [kept]


def test_it_deletes_old_finished_jobs_and_keeps_young_and_active_ones(job, now):
    old = job(91)
    young = job(89, status=JobStatus.FAILED)
    active = [job(120, status=s) for s in ("pending", "queued", "running", "retrying")]

    result = history_purge(now=now)

    assert result.jobs == 1
    assert not Job.objects.filter(id=old.id).exists()
    assert set(Job.objects.values_list("id", flat=True)) == {young.id, *(j.id for j in active)}
    assert not JobAttempt.objects.filter(job_id=old.id).exists()


def test_a_younger_event_naming_a_purged_job_stays_without_its_job(event, job, now, settings):
    settings.EVENT_RETENTION_DAYS = 365
    old = job(100)
    e = event(100, job=old)

    assert history_purge(now=now).jobs == 1
    e.refresh_from_db()
    assert e.job_id is None


def test_it_deletes_events_in_batches_of_at_most_batch_size(event, now):
    for days in range(31, 38):
        event(days)
    cutoff = now - timedelta(days=30)
    table = ScheduleEvent._meta.db_table
    with CaptureQueriesContext(connection) as ctx:
        assert schedule_events_purge(created_before=cutoff, batch_size=3) == 7
    deletes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("DELETE")]
    # One statement per batch, its selection bounded in the statement itself.
    assert len(deletes) == 3  # 3 + 3 + 1
    assert all(
        d.startswith(f'DELETE FROM "{table}"') and re.search(r"LIMIT 3\b", d) for d in deletes
    )
    assert not ScheduleEvent.objects.exists()


def test_it_stops_after_max_batches_and_says_more_is_left(event, job, now):
    for days in range(31, 36):
        event(days)

    result = history_purge(now=now, batch_size=2, max_batches=2)

    assert (result.events, result.done) == (4, False)
    assert ScheduleEvent.objects.count() == 1
    assert history_purge(now=now, batch_size=2, max_batches=2).done is True


def test_a_dry_run_deletes_nothing(event, job, now):
    event(31, job=job(91))
    event(5)

    result = history_purge(now=now, dry_run=True)

    assert (result.events, result.jobs) == (1, 1)
    assert ScheduleEvent.objects.count() == 2
    assert Job.objects.count() == 1
    assert JobAttempt.objects.count() == 1


def test_it_leaves_the_schedules_last_run_as_it_was(schedule, job, now):
    last = job(120, status=JobStatus.FAILED)
    schedule.last_run_at, schedule.last_run_status = last.created_at, RunStatus.FAILED
    schedule.save(update_fields=["last_run_at", "last_run_status"])

    assert history_purge(now=now).jobs == 1

    schedule.refresh_from_db()
    assert (schedule.last_run_at, schedule.last_run_status) == (last.created_at, "failed")


def test_the_command_deletes_and_its_dry_run_only_counts(event, job, time_machine, now):
    time_machine.move_to(now, tick=False)
    event(31, job=job(91))
    event(1)
    out = StringIO()

    call_command("purge_history", "--dry-run", stdout=out)
    assert "Would delete 1 schedule event(s)" in out.getvalue()
    assert "Would delete 1 finished job(s)" in out.getvalue()
    assert (ScheduleEvent.objects.count(), Job.objects.count()) == (2, 1)

    call_command("purge_history", stdout=out)
    assert "Deleted 1 schedule event(s)" in out.getvalue()
    assert "Deleted 1 finished job(s)" in out.getvalue()
    assert (ScheduleEvent.objects.count(), Job.objects.count()) == (1, 0)


def test_the_daily_task_sends_itself_again_while_rows_are_left(
    event, time_machine, now, monkeypatch
):
    time_machine.move_to(now, tick=False)
    for days in range(31, 36):
        event(days)
    monkeypatch.setattr(services, "PURGE_BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "PURGE_BATCHES_PER_RUN", 1)
    sent = []
    monkeypatch.setattr(tasks.purge_history, "apply_async", lambda **kw: sent.append(kw))

    assert tasks.purge_history() == {"jobs": 0, "events": 2, "done": False}
    assert sent == [{"queue": "celery", "expires": 3600}]
    assert ScheduleEvent.objects.count() == 3


def test_the_purge_is_a_daily_beat_entry_on_the_control_planes_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["history-purge"]
    assert entry["task"] == tasks.purge_history.name
    assert entry["schedule"] == crontab(hour=3, minute=17)
    assert entry["options"]["queue"] == "celery"
    assert 0 < entry["options"]["expires"] <= 24 * 3600
    assert django_settings.JOB_RETENTION_DAYS == 90
    assert django_settings.EVENT_RETENTION_DAYS == 30
