"""Job outcomes and run times are counted on the control plane, where agents.services records
them, once the transition has committed: a finish, a watchdog verdict, a cancel, a superseded
held occurrence — never a retry (not an outcome), never a transition whose transaction rolled
back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from agents.models import ErrorKind, Job, JobStatus, Trigger
from agents.outcomes import AttemptReport
from agents.services import (
    job_cancel,
    job_claim,
    job_mark_lost,
    job_mark_timed_out,
    job_report_finish,
    jobs_supersede_held,
)
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


def outcomes(status: str, error_kind: str = "none") -> float:
    labels = {"status": status, "error_kind": error_kind}
    return REGISTRY.get_sample_value("mimic_job_outcomes_total", labels) or 0.0


def durations(status: str, suffix: str, **labels: str) -> float:
    name = f"mimic_job_duration_seconds_{suffix}"
    return REGISTRY.get_sample_value(name, {"status": status, **labels}) or 0.0


def no_redaction(organization_id, keys):
    return lambda text: text


def claimed(make_job, *, at, **fields):
    job = make_job(**fields)
    return job_claim(job_id=job.id, agent_id=job.agent_id, now=at, hostname="h")


def test_a_finished_run_counts_its_outcome_and_its_run_time(
    make_job, django_capture_on_commit_callbacks
):
    now = timezone.now()
    job = claimed(make_job, at=now - timedelta(seconds=90))
    before = (
        outcomes("succeeded"),
        durations("succeeded", "count"),
        durations("succeeded", "sum"),
        durations("succeeded", "bucket", le="60.0"),
        durations("succeeded", "bucket", le="120.0"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcome = job_report_finish(
            job_id=job.id,
            agent_id=job.agent_id,
            attempt=1,
            report=AttemptReport(exit_code=0),
            now=now,
            redact=no_redaction,
        )

    assert outcome is not None and outcome.status == JobStatus.SUCCEEDED
    after = (
        outcomes("succeeded"),
        durations("succeeded", "count"),
        durations("succeeded", "sum"),
        durations("succeeded", "bucket", le="60.0"),
        durations("succeeded", "bucket", le="120.0"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 90, 0, 1]


def test_a_failure_is_counted_with_its_error_kind(make_job, django_capture_on_commit_callbacks):
    now = timezone.now()
    job = claimed(make_job, at=now - timedelta(seconds=3))
    before = outcomes("failed", ErrorKind.CREDENTIAL_REJECTED)
    with django_capture_on_commit_callbacks(execute=True):
        job_report_finish(
            job_id=job.id,
            agent_id=job.agent_id,
            attempt=1,
            report=AttemptReport(exit_code=77),
            now=now,
            redact=no_redaction,
        )
    assert outcomes("failed", ErrorKind.CREDENTIAL_REJECTED) - before == 1


def test_a_transition_rolled_back_is_not_counted(make_job, django_capture_on_commit_callbacks):
    now = timezone.now()
    job = claimed(make_job, at=now - timedelta(seconds=30))
    before = (outcomes("succeeded"), durations("succeeded", "count"))

    class Undo(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Undo), transaction.atomic():
            won = job_report_finish(
                job_id=job.id,
                agent_id=job.agent_id,
                attempt=1,
                report=AttemptReport(exit_code=0),
                now=now,
                redact=no_redaction,
            )
            assert won is not None  # the transition won, then its transaction is undone
            raise Undo

    assert callbacks == []
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert (outcomes("succeeded"), durations("succeeded", "count")) == before


def test_a_retry_is_not_an_outcome(make_job, django_capture_on_commit_callbacks):
    now = timezone.now()
    job = claimed(make_job, at=now - timedelta(seconds=5), max_attempts=2)
    before = (outcomes("retrying", ErrorKind.TRANSIENT), outcomes("retrying", ErrorKind.LOST))
    with django_capture_on_commit_callbacks(execute=True):
        job_report_finish(
            job_id=job.id,
            agent_id=job.agent_id,
            attempt=1,
            report=AttemptReport(exit_code=75),
            now=now,
            redact=no_redaction,
        )
    job.refresh_from_db()
    assert job.status == JobStatus.RETRYING
    assert (outcomes("retrying", ErrorKind.TRANSIENT), outcomes("retrying", ErrorKind.LOST)) == (
        before
    )


def test_the_watchdogs_verdicts_are_counted_with_the_run_time(
    make_job, django_capture_on_commit_callbacks
):
    now = timezone.now()
    late = claimed(make_job, at=now - timedelta(seconds=600))
    gone = claimed(make_job, at=now - timedelta(seconds=240))
    before = (
        outcomes("timed_out", ErrorKind.TIMED_OUT),
        durations("timed_out", "sum"),
        outcomes("lost", ErrorKind.LOST),
        durations("lost", "sum"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert job_mark_timed_out(job_id=late.id, attempt=1, now=now)
        assert job_mark_lost(job_id=gone.id, attempt=1, now=now, retry=False, canceled=False)
    after = (
        outcomes("timed_out", ErrorKind.TIMED_OUT),
        durations("timed_out", "sum"),
        outcomes("lost", ErrorKind.LOST),
        durations("lost", "sum"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 600, 1, 240]


def test_a_job_canceled_before_it_ran_counts_no_run_time(
    make_job, django_capture_on_commit_callbacks
):
    job = make_job(status=JobStatus.QUEUED)
    before = (outcomes("canceled", ErrorKind.CANCELED), durations("canceled", "count"))
    with django_capture_on_commit_callbacks(execute=True):
        job_cancel(job=job, now=timezone.now())
    after = (outcomes("canceled", ErrorKind.CANCELED), durations("canceled", "count"))
    assert (after[0] - before[0], after[1] - before[1]) == (1, 0)


def test_superseded_held_occurrences_are_counted_canceled(
    org, agent, script, make_job, django_capture_on_commit_callbacks
):
    schedule = ScheduleFactory(organization=org, agent=agent, script=script)
    now = timezone.now()
    kept, *_ = held = [make_job(status=JobStatus.HELD, schedule=schedule) for _ in range(3)]
    Job.objects.filter(id__in=[j.id for j in held]).update(trigger=Trigger.SCHEDULED)
    before = outcomes("canceled", ErrorKind.SUPERSEDED)
    with django_capture_on_commit_callbacks(execute=True):
        superseded = jobs_supersede_held(keep={schedule.id: (kept.id, "newer")}, now=now)
    assert len(superseded) == 2
    assert outcomes("canceled", ErrorKind.SUPERSEDED) - before == 2
