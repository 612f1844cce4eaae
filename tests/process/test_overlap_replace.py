"""Overlap policy `replace` with a real agent process (SPEC §14): a new occurrence of a schedule
whose run is still going cancels it — its runner kills the whole process tree, the script's
child included — and the new run is released, and starts, only after the canceled one ended."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from agents.models import ErrorKind, Job, JobStatus
from agents.services import job_cancel
from schedules.engine import run_tick
from schedules.models import Schedule
from tests.process.helpers import (
    SCRIPT_WITH_CHILD,
    make_agent,
    make_org,
    make_script,
    pid_alive,
    wait_for,
    wait_for_status,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def tick():
    # The real clock: the agent's heartbeats are real, and readiness is judged against `now`.
    return run_tick(now=timezone.now(), use_executor_lock=False)


def test_replace_kills_the_running_tree_before_the_new_run_starts(start_agent):
    org = make_org()
    agent = make_agent(org)
    start_agent(agent)
    now = timezone.now()
    schedule = Schedule.objects.create(
        organization=org,
        name="Replace me",
        script=make_script(org, SCRIPT_WITH_CHILD),
        agent=agent,
        cron_expression="* * * * *",
        next_run_at=now.replace(second=0, microsecond=0),
        overlap_policy="replace",
    )

    report = tick()
    assert not report.errors and not report.skipped, report
    first = Job.objects.get(id=report.triggered[0].job_id)
    wait_for(
        lambda: Job.objects.filter(
            id=first.id, status=JobStatus.RUNNING, log__contains="child="
        ).exists(),
        timeout=15,
        what="the first run to start and log its pids",
    )
    first.refresh_from_db()
    script_pid, child_pid = map(int, re.search(r"script=(\d+) child=(\d+)", first.log).groups())

    # A new occurrence comes due while the first still runs.
    second_at = timezone.now().replace(microsecond=0)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=second_at, fire_at=second_at)
    report = tick()
    assert report.triggered == [], report
    [skip] = report.skipped
    assert skip.reason == "concurrency_limit" and skip.detail.startswith("held:"), skip
    held = Job.objects.get(schedule=schedule, status=JobStatus.HELD)
    assert held.scheduled_for == second_at

    first = wait_for_status(first, JobStatus.CANCELED, timeout=15)
    assert first.error_kind == ErrorKind.CANCELED
    wait_for(
        lambda: not pid_alive(script_pid) and not pid_alive(child_pid),
        timeout=5,
        what="the first run's script and its child to be gone",
    )

    report = tick()
    assert [t.job_id for t in report.triggered] == [held.id], report
    assert report.triggered[0].notes == ["released"]
    second = wait_for_status(held, JobStatus.RUNNING, timeout=15)
    assert second.started_at > first.finished_at

    job_cancel(job=second, now=timezone.now())  # no need to wait out its minute
    wait_for_status(second, JobStatus.CANCELED, timeout=15)
