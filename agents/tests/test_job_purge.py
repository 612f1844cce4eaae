"""Retention of jobs (SPEC §10): finished jobs that ended more than JOB_RETENTION_DAYS ago go
with their attempts, in bounded batches; active jobs and younger ones stay; a dry run deletes
nothing."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import ACTIVE_JOB_STATUSES, FINISHED_JOB_STATUSES, Job, JobAttempt, JobStatus
from agents.services import jobs_purge_finished

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 3, 17, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)
JOB_DELETE = f'DELETE FROM "{Job._meta.db_table}"'
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def ended(make_job, days_ago, status=JobStatus.SUCCEEDED, *, finished=True, attempts=1):
    at = NOW - timedelta(days=days_ago)
    job = make_job(
        status=status,
        now=at - timedelta(minutes=5),
        finished_at=at if finished else None,
    )
    for n in range(1, attempts + 1):
        JobAttempt.objects.create(job=job, number=n, status=status, finished_at=job.finished_at)
    return job


def test_it_deletes_finished_jobs_that_ended_before_the_cutoff_with_their_attempts(make_job):
    old = [ended(make_job, 91, status, attempts=2) for status in FINISHED_JOB_STATUSES]
    young = ended(make_job, 89, JobStatus.FAILED)

    assert jobs_purge_finished(finished_before=CUTOFF) == len(old)
    assert list(Job.objects.all()) == [young]
    assert list(JobAttempt.objects.values_list("job_id", flat=True)) == [young.id]


def test_it_judges_a_final_job_without_finished_at_by_created_at(make_job):
    old = ended(make_job, 100, JobStatus.CANCELED, finished=False)
    young = ended(make_job, 10, JobStatus.CANCELED, finished=False)

    assert jobs_purge_finished(finished_before=CUTOFF) == 1
    assert not Job.objects.filter(id=old.id).exists()
    assert Job.objects.filter(id=young.id).exists()


def test_it_never_deletes_an_active_job_however_old(make_job):
    # Even one carrying an old finished_at (a retry of an attempt that ended long ago).
    active = [ended(make_job, 200, status) for status in ACTIVE_JOB_STATUSES]

    assert jobs_purge_finished(finished_before=CUTOFF) == 0
    assert Job.objects.count() == len(active)
    assert JobAttempt.objects.count() == len(active)


def test_it_deletes_in_batches_of_at_most_batch_size(make_job):
    for days in range(91, 98):
        ended(make_job, days)
    with CaptureQueriesContext(connection) as ctx:
        assert jobs_purge_finished(finished_before=CUTOFF, batch_size=3) == 7
    deletes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith(JOB_DELETE)]
    assert [len(UUID.findall(sql)) for sql in deletes] == [3, 3, 1]
    assert not Job.objects.exists()


def test_it_stops_after_max_batches_oldest_first(make_job):
    jobs = [ended(make_job, days) for days in range(91, 98)]

    assert jobs_purge_finished(finished_before=CUTOFF, batch_size=3, max_batches=2) == 6
    assert list(Job.objects.all()) == [jobs[0]]  # the youngest of the old ones is left


def test_a_dry_run_counts_and_deletes_nothing(make_job):
    for days in (91, 95):
        ended(make_job, days)
    ended(make_job, 30)

    assert jobs_purge_finished(finished_before=CUTOFF, dry_run=True) == 2
    assert Job.objects.count() == 3
    assert JobAttempt.objects.count() == 3
