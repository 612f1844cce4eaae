"""How an attempt ended, decided by the control plane (SPEC §7 "Outcome"). Pure: the agent's
report plus what the job row says, no queries, no clock.

The agent runtime reports facts (an exit code, that it enforced the deadline, that it killed the
script because it was told to or could not confirm its claim); the meaning is decided here, so a
modified agent cannot turn a failure into a retry or a success.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from agents.models import ErrorKind, JobStatus

EXIT_OK = 0
EXIT_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: transient (portal down), retried while attempts remain
EXIT_NOPERM = 77  # sysexits EX_NOPERM: credential rejected — never retried (retries lock accounts)

# Why the runtime killed a script (its `killed` field; a deadline is `timedOut`).
KILLED_CANCELED = "canceled"
KILLED_DROPPED = "dropped"
KILLED_FENCED = "fenced"
KILLED_STOPPING = "stopping"
KILLED_REASONS = (KILLED_CANCELED, KILLED_DROPPED, KILLED_FENCED, KILLED_STOPPING)


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended: the job's next status, a finished one or RETRYING."""

    status: str
    error_kind: str = ""
    error_message: str = ""
    exit_code: int | None = None

    @property
    def retry(self) -> bool:
        return self.status == JobStatus.RETRYING

    @property
    def attempt_status(self) -> str:
        # An attempt that will be retried still failed; the job is what is retrying.
        return JobStatus.FAILED if self.retry else self.status


@dataclass(frozen=True)
class AttemptReport:
    """What the agent said (`finish`), validated at the API edge."""

    exit_code: int | None
    timed_out: bool = False
    killed: str = ""
    error: str = ""  # the runtime could not start the script (already redacted)


def attempt_outcome(
    report: AttemptReport,
    *,
    attempt: int,
    max_attempts: int,
    cancel_requested: bool,
    runtime_seconds: float,
) -> Outcome:
    if report.error:
        return Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.SPAWN_FAILED,
            error_message=f"The agent could not run the script: {report.error}"[:2000],
            exit_code=report.exit_code,
        )
    if report.timed_out:
        return Outcome(
            status=JobStatus.TIMED_OUT,
            error_kind=ErrorKind.TIMED_OUT,
            error_message=f"Exceeded its max runtime ({_duration(runtime_seconds)}); its "
            "process group was killed.",
            exit_code=report.exit_code,
        )
    if cancel_requested and report.exit_code != EXIT_OK:
        return Outcome(
            status=JobStatus.CANCELED,
            error_kind=ErrorKind.CANCELED,
            error_message="Canceled while running; its process group was killed.",
            exit_code=report.exit_code,
        )
    if report.killed in (KILLED_FENCED, KILLED_STOPPING, KILLED_DROPPED):
        # The runner gave the attempt up (it could not confirm its claim, or its token was
        # revoked): like a lost run, transient.
        return _transient(
            attempt,
            max_attempts,
            report.exit_code,
            ErrorKind.LOST,
            "Its agent killed the script: it could not confirm the job with the control plane",
        )
    return outcome_for_exit(exit_code=report.exit_code, attempt=attempt, max_attempts=max_attempts)


def outcome_for_exit(*, exit_code: int | None, attempt: int, max_attempts: int) -> Outcome:
    """What an attempt that ended on its own means for the job."""
    if exit_code == EXIT_OK:
        return Outcome(status=JobStatus.SUCCEEDED, exit_code=exit_code)
    if exit_code == EXIT_TEMPFAIL:
        return _transient(
            attempt, max_attempts, exit_code, ErrorKind.TRANSIENT, "Transient failure (exit 75)"
        )
    if exit_code == EXIT_NOPERM:
        return Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.CREDENTIAL_REJECTED,
            error_message="Credential rejected (exit 77); not retried, so the account is not "
            "locked by repeated logins.",
            exit_code=exit_code,
        )
    if exit_code is None:
        message = "The agent reported no exit code; not retried."
    elif exit_code < 0:
        message = f"The script's supervisor was killed by {_signal_name(-exit_code)}; not retried."
    elif exit_code > 128 and exit_code - 128 < 65:
        message = f"The script was killed by {_signal_name(exit_code - 128)}; not retried."
    else:
        message = f"The script exited with code {exit_code}; not retried (only exit 75 is)."
    return Outcome(
        status=JobStatus.FAILED,
        error_kind=ErrorKind.EXIT_CODE,
        error_message=message,
        exit_code=exit_code,
    )


def _transient(attempt, max_attempts, exit_code, kind, what: str) -> Outcome:
    if attempt < max_attempts:
        return Outcome(
            status=JobStatus.RETRYING,
            error_kind=kind,
            error_message=f"{what} on attempt {attempt} of {max_attempts}; retrying after the "
            "retry delay.",
            exit_code=exit_code,
        )
    return Outcome(
        status=JobStatus.FAILED,
        error_kind=kind,
        error_message=f"{what} on the last attempt ({attempt} of {max_attempts}).",
        exit_code=exit_code,
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"
