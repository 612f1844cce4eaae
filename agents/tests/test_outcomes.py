"""The control plane decides an attempt's outcome from the agent's report (pure): 0 succeeds,
75 is transient and retried while attempts remain, 77 is a rejected credential (never retried),
anything else is permanent; a deadline kill times out, a kill after a cancel request cancels,
a runner that gave the attempt up (fenced) is lost and retried."""

from __future__ import annotations

import pytest

from agents.models import ErrorKind, JobStatus
from agents.outcomes import (
    KILLED_CANCELED,
    KILLED_FENCED,
    AttemptReport,
    attempt_outcome,
    outcome_for_exit,
)


def test_it_succeeds_on_exit_0():
    outcome = outcome_for_exit(exit_code=0, attempt=1, max_attempts=1)
    assert (outcome.status, outcome.error_kind, outcome.retry) == (JobStatus.SUCCEEDED, "", False)


@pytest.mark.parametrize(("attempt", "max_attempts"), [(1, 2), (2, 3), (1, 11)])
def test_it_retries_exit_75_while_attempts_remain(attempt, max_attempts):
    outcome = outcome_for_exit(exit_code=75, attempt=attempt, max_attempts=max_attempts)
    assert outcome.status == JobStatus.RETRYING and outcome.retry
    assert outcome.error_kind == ErrorKind.TRANSIENT
    assert outcome.attempt_status == JobStatus.FAILED  # the attempt failed; the job retries


@pytest.mark.parametrize(("attempt", "max_attempts"), [(1, 1), (3, 3)])
def test_it_fails_exit_75_on_the_last_attempt(attempt, max_attempts):
    outcome = outcome_for_exit(exit_code=75, attempt=attempt, max_attempts=max_attempts)
    assert (outcome.status, outcome.error_kind, outcome.retry) == (
        JobStatus.FAILED,
        ErrorKind.TRANSIENT,
        False,
    )
    assert "last attempt" in outcome.error_message


def test_it_never_retries_a_rejected_credential():
    outcome = outcome_for_exit(exit_code=77, attempt=1, max_attempts=5)
    assert (outcome.status, outcome.error_kind) == (JobStatus.FAILED, ErrorKind.CREDENTIAL_REJECTED)


@pytest.mark.parametrize("code", [1, 2, 64, 76, 78, 126, 127, 255])
def test_it_never_retries_any_other_exit(code):
    outcome = outcome_for_exit(exit_code=code, attempt=1, max_attempts=5)
    assert (outcome.status, outcome.error_kind, outcome.exit_code) == (
        JobStatus.FAILED,
        ErrorKind.EXIT_CODE,
        code,
    )
    assert f"code {code}" in outcome.error_message


def test_it_names_the_signal_that_killed_the_script():
    assert "SIGKILL" in outcome_for_exit(exit_code=137, attempt=1, max_attempts=2).error_message
    assert "SIGSEGV" in outcome_for_exit(exit_code=-11, attempt=1, max_attempts=2).error_message


def decide(report: AttemptReport, *, cancel_requested=False, attempt=1, max_attempts=2):
    return attempt_outcome(
        report,
        attempt=attempt,
        max_attempts=max_attempts,
        cancel_requested=cancel_requested,
        runtime_seconds=720 * 60,
    )


def test_it_times_out_or_cancels_a_killed_attempt_without_retry():
    timed_out = decide(AttemptReport(exit_code=-9, timed_out=True))
    assert (timed_out.status, timed_out.error_kind) == (JobStatus.TIMED_OUT, ErrorKind.TIMED_OUT)
    assert "720 min" in timed_out.error_message
    canceled = decide(AttemptReport(exit_code=143, killed=KILLED_CANCELED), cancel_requested=True)
    assert (canceled.status, canceled.error_kind) == (JobStatus.CANCELED, ErrorKind.CANCELED)
    assert not timed_out.retry and not canceled.retry


def test_a_script_that_succeeded_before_the_cancel_landed_succeeded():
    outcome = decide(AttemptReport(exit_code=0), cancel_requested=True)
    assert outcome.status == JobStatus.SUCCEEDED


def test_the_agent_cannot_claim_a_cancel_nobody_asked_for():
    # A report of "canceled" without a cancel request is judged by its exit code.
    outcome = decide(AttemptReport(exit_code=0, killed=KILLED_CANCELED))
    assert outcome.status == JobStatus.SUCCEEDED
    outcome = decide(AttemptReport(exit_code=1, killed=KILLED_CANCELED))
    assert (outcome.status, outcome.error_kind) == (JobStatus.FAILED, ErrorKind.EXIT_CODE)


@pytest.mark.parametrize(("attempt", "status"), [(1, JobStatus.RETRYING), (2, JobStatus.FAILED)])
def test_a_fenced_attempt_is_lost_and_retried_while_attempts_remain(attempt, status):
    outcome = decide(AttemptReport(exit_code=-9, killed=KILLED_FENCED), attempt=attempt)
    assert (outcome.status, outcome.error_kind) == (status, ErrorKind.LOST)


def test_a_script_that_could_not_start_fails_without_retry():
    outcome = decide(AttemptReport(exit_code=None, error="could not start the script: ENOENT"))
    assert (outcome.status, outcome.error_kind) == (JobStatus.FAILED, ErrorKind.SPAWN_FAILED)
    assert "ENOENT" in outcome.error_message
