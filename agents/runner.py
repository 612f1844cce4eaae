"""The job runner: one attempt of one job, in the agent process (SPEC §7).

    claim (compare-and-swap) -> decrypt the vault keys -> run the recorded script in its own
    process group with {"variables","secrets","job"} on stdin -> heartbeat the row while it runs
    (and obey a cancel) -> kill the whole group at the deadline -> record the outcome.

The claim is what makes a redelivered or duplicated message harmless: a job that is not
claimable (running elsewhere, finished, canceled, or a retry whose delay has not passed) is
dropped. Outcomes are decided by the pure functions at the top; every write goes through
agents.services.

Process tree: the script runs under a tiny supervisor (`_SUPERVISOR`, plain Python, no Django)
that leads a new session. Killing the job = signalling that process group. The supervisor also
watches its parent: if the agent dies (kill -9), it SIGKILLs the group, so no orphaned bot keeps
clicking through a portal while the watchdog retries the job elsewhere.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from agents import services
from agents.models import ErrorKind, Job, JobStatus, Runtime
from agents.services import Heartbeat, Outcome
from vault.redaction import Redactor
from vault.selectors import VaultKeysMissing, VaultUnreadable, vault_decrypt_for_job

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: transient (portal down), retried while attempts remain
EXIT_NOPERM = 77  # sysexits EX_NOPERM: credential rejected — never retried (retries lock accounts)

KILLED_TIMED_OUT = "timed_out"
KILLED_CANCELED = "canceled"
KILLED_GONE = "gone"  # the job was taken from this runner (watchdog); it only keeps the log


# ------------------------------------------------------------------------- pure decisions


def outcome_for_exit(*, exit_code: int, attempt: int, max_attempts: int) -> Outcome:
    """What an attempt that ended on its own means for the job."""
    if exit_code == EXIT_OK:
        return Outcome(status=JobStatus.SUCCEEDED, exit_code=exit_code)
    if exit_code == EXIT_TEMPFAIL:
        if attempt < max_attempts:
            return Outcome(
                status=JobStatus.RETRYING,
                error_kind=ErrorKind.TRANSIENT,
                error_message=f"Transient failure (exit 75) on attempt {attempt} of "
                f"{max_attempts}; retrying after the retry delay.",
                exit_code=exit_code,
            )
        return Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.TRANSIENT,
            error_message=f"Transient failure (exit 75) on the last attempt ({attempt} of "
            f"{max_attempts}).",
            exit_code=exit_code,
        )
    if exit_code == EXIT_NOPERM:
        return Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.CREDENTIAL_REJECTED,
            error_message="Credential rejected (exit 77); not retried, so the account is not "
            "locked by repeated logins.",
            exit_code=exit_code,
        )
    if exit_code < 0:
        name = _signal_name(-exit_code)
        message = f"The script's supervisor was killed by {name}; not retried."
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


def outcome_for_kill(*, reason: str, runtime_seconds: float) -> Outcome:
    """What an attempt this runner had to kill means for the job."""
    if reason == KILLED_TIMED_OUT:
        return Outcome(
            status=JobStatus.TIMED_OUT,
            error_kind=ErrorKind.TIMED_OUT,
            error_message=f"Exceeded its max runtime ({_duration(runtime_seconds)}); its "
            "process group was killed.",
        )
    if reason == KILLED_CANCELED:
        return Outcome(
            status=JobStatus.CANCELED,
            error_kind=ErrorKind.CANCELED,
            error_message="Canceled while running; its process group was killed.",
        )
    # KILLED_GONE: job_finish_attempt will not move the job (no longer ours); this only labels
    # the attempt's log.
    return Outcome(
        status=JobStatus.LOST,
        error_kind=ErrorKind.LOST,
        error_message="The job was closed by the watchdog while this runner still had it.",
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


class BoundedLog:
    """A script's output, bounded: the first and last halves of `max_bytes` are kept with a
    marker for what was dropped in between (the start says what the bot did, the end why it
    stopped).

    Secret values are redacted when the text is rendered — the only way out of this object —
    so nothing unredacted is ever stored. At a cut, a secret may have been split in two; its
    visible half would not match the redactor, so a margin as long as the longest encoded
    secret is dropped on each side of the cut as well.
    """

    MARKER = "\n…truncated {dropped} bytes…\n"

    def __init__(self, max_bytes: int):
        self.max_bytes = max(int(max_bytes), 256)
        self.head_limit = self.max_bytes // 2
        self.tail_limit = self.max_bytes - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        with self._lock:
            self.total += len(chunk)
            room = self.head_limit - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                # Trim in amortized steps rather than on every write.
                if len(self.tail) > 2 * self.tail_limit:
                    del self.tail[: len(self.tail) - self.tail_limit]

    @property
    def truncated(self) -> bool:
        return self.total > self.head_limit + self.tail_limit

    def render(self, secrets: dict[str, str] | None = None) -> str:
        secrets = secrets or {}
        redactor = Redactor(secrets)
        with self._lock:
            head, tail, total = bytes(self.head), bytes(self.tail), self.total
        if total <= self.head_limit + self.tail_limit:
            return redactor((head + tail).decode("utf-8", errors="replace"))
        tail = tail[-self.tail_limit :]
        margin = _secret_margin(secrets.values())
        head_text = redactor(head.decode("utf-8", errors="replace"))
        tail_text = redactor(tail.decode("utf-8", errors="replace"))
        if margin:
            head_text = head_text[:-margin]
            tail_text = tail_text[margin:]
        dropped = total - len(head) - len(tail)
        return head_text + self.MARKER.format(dropped=dropped) + tail_text


def _secret_margin(values) -> int:
    """The longest text any secret can appear as (raw, JSON-escaped, URL-encoded, base64)."""
    longest = 0
    for value in values:
        if not value:
            continue
        raw = value.encode("utf-8")
        longest = max(
            longest,
            len(value),
            len(json.dumps(value)),
            len(quote(value, safe="")),
            4 * math.ceil(len(raw) / 3),
        )
    return longest


# ------------------------------------------------------------------------- the process tree

# Runs as `python -I -c _SUPERVISOR <argv…>`, leading the job's own session/process group.
# - forwards nothing: a group signal reaches the script directly;
# - survives SIGTERM (a no-op handler, which exec resets to default in the script) so the
#   script gets its grace period while the supervisor waits for it;
# - exits with the script's code (128+N if the script died of signal N);
# - if its parent (the agent) dies, SIGKILLs the whole group.
_SUPERVISOR = r"""
import os, signal, subprocess, sys, threading, time
parent = os.getppid()
signal.signal(signal.SIGTERM, lambda *a: None)
try:
    child = subprocess.Popen(sys.argv[1:])
except OSError as exc:
    print("mimic: could not start the script: %s" % exc, file=sys.stderr, flush=True)
    sys.exit(127)
def watch():
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
"""


def script_argv(runtime: str, path: str) -> list[str]:
    if runtime == Runtime.PYTHON:
        return [sys.executable, "-u", path]
    if runtime == Runtime.SHELL:
        return ["/bin/sh", path]
    raise ValueError(f"unknown script runtime {runtime!r}")


def script_env(*, job: Job, attempt: int, workdir: str) -> dict[str, str]:
    """Only what the script needs: the agent's own environment holds DATABASE_URL and the
    vault encryption keys."""
    env = {k: os.environ[k] for k in settings.AGENT_SCRIPT_ENV_PASSTHROUGH if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        MIMIC_JOB_ID=str(job.id),
        MIMIC_JOB_ATTEMPT=str(attempt),
        TMPDIR=workdir,
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a whole process group; False when nothing is left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # pgid reused by someone else's group: not ours to touch
        log.warning("event=killpg_denied pgid=%s", pgid)
        return False


def kill_tree(proc: subprocess.Popen, *, grace: float) -> None:
    """SIGTERM the group, give the script `grace` seconds, then SIGKILL whatever is left."""
    pgid = proc.pid
    signal_group(pgid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    signal_group(pgid, signal.SIGKILL)
    proc.wait()


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat().replace("+00:00", "Z") if instant else None


def stdin_payload(*, job: Job, attempt: int, secrets: dict[str, str]) -> bytes:
    return json.dumps(
        {
            "variables": job.variables or {},
            "secrets": secrets,
            "job": {
                "id": str(job.id),
                "attempt": attempt,
                "maxAttempts": job.max_attempts,
                "scheduledFor": _iso(job.scheduled_for),
                "scheduleId": str(job.schedule_id) if job.schedule_id else None,
                "trigger": job.trigger,
                "deadlineAt": _iso(job.deadline_at),
            },
        }
    ).encode()


# ------------------------------------------------------------------------- the run


def job_run(*, job_id: str, hostname: str) -> str:
    """Run one attempt of `job_id` if it can be claimed. Returns the job's resulting status,
    or "dropped" when the message was not ours to run."""
    now = timezone.now()
    job = services.job_claim(
        job_id=job_id,
        now=now,
        hostname=hostname,
        max_runtime_cap_seconds=settings.AGENT_MAX_RUNTIME_SECONDS,
    )
    if job is None:
        log.info("event=job_message_dropped job=%s reason=not_claimable", job_id)
        return "dropped"
    attempt = job.attempt
    log.info("event=job_claimed job=%s attempt=%d/%d", job.id, attempt, job.max_attempts)
    secrets: dict[str, str] = {}
    bounded = BoundedLog(settings.JOB_LOG_MAX_BYTES)
    try:
        try:
            secrets = vault_decrypt_for_job(
                organization_id=job.organization_id, keys=list(job.vault_keys or [])
            )
        except VaultKeysMissing as exc:
            outcome = Outcome(
                status=JobStatus.FAILED,
                error_kind=ErrorKind.VAULT_KEY_MISSING,
                error_message=f"Vault key(s) missing at run time: {', '.join(exc.missing)} "
                "(deleted after dispatch?); not retried.",
            )
        except VaultUnreadable as exc:
            outcome = Outcome(
                status=JobStatus.FAILED,
                error_kind=ErrorKind.VAULT_UNREADABLE,
                error_message=f"{exc}; not retried.",
            )
        else:
            outcome = _execute(job=job, attempt=attempt, secrets=secrets, bounded=bounded)
    except Exception as exc:  # never leave a claimed job `running` because of our own bug
        redactor = Redactor(secrets)
        message = redactor(f"{type(exc).__name__}: {exc}")[:2000]
        log.error("event=job_runner_error job=%s error=%s", job.id, message)
        outcome = Outcome(
            status=JobStatus.FAILED,
            error_kind=ErrorKind.INTERNAL_ERROR,
            error_message=f"Runner error: {message}",
        )
    finished = timezone.now()
    won = _record(
        job=job, attempt=attempt, now=finished, outcome=outcome, log_text=bounded.render(secrets)
    )
    status = outcome.status if won else "superseded"
    log.info(
        "event=job_attempt_finished job=%s attempt=%d status=%s exit_code=%s seconds=%.1f",
        job.id,
        attempt,
        status,
        outcome.exit_code,
        (finished - now).total_seconds(),
    )
    return status


def _execute(*, job: Job, attempt: int, secrets: dict[str, str], bounded: BoundedLog) -> Outcome:
    workdir = tempfile.mkdtemp(prefix=f"mimic-job-{job.id}-")
    try:
        suffix = ".py" if job.script_runtime == Runtime.PYTHON else ".sh"
        path = os.path.join(workdir, f"script{suffix}")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(job.script_source)
        argv = [sys.executable, "-I", "-c", _SUPERVISOR, *script_argv(job.script_runtime, path)]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=script_env(job=job, attempt=attempt, workdir=workdir),
                start_new_session=True,  # its own process group: one killpg ends the tree
                close_fds=True,
            )
        except OSError as exc:
            return Outcome(
                status=JobStatus.FAILED,
                error_kind=ErrorKind.SPAWN_FAILED,
                error_message=Redactor(secrets)(f"Could not start the script: {exc}"),
            )
        try:
            return _supervise(proc=proc, job=job, attempt=attempt, secrets=secrets, bounded=bounded)
        finally:
            # Whatever happened, nothing of this job outlives it (a daemonized grandchild
            # included, unless it left the group on purpose).
            signal_group(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _supervise(
    *, proc: subprocess.Popen, job: Job, attempt: int, secrets: dict, bounded: BoundedLog
) -> Outcome:
    payload = stdin_payload(job=job, attempt=attempt, secrets=secrets)

    def feed() -> None:
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except OSError:  # the script exited without reading stdin: fine
            pass

    def drain() -> None:
        while chunk := proc.stdout.read1(65536):
            bounded.write(chunk)

    writer = threading.Thread(target=feed, name=f"job-stdin-{job.id}", daemon=True)
    reader = threading.Thread(target=drain, name=f"job-stdout-{job.id}", daemon=True)
    writer.start()
    reader.start()

    # The deadline on the monotonic clock (wall-clock jumps must not kill or spare a job).
    runtime = (job.deadline_at - job.started_at).total_seconds()
    deadline = time.monotonic() + runtime
    beat_every = max(settings.JOB_HEARTBEAT_SECONDS, 0.2)
    _beat(job, attempt, pid=proc.pid)
    next_beat = time.monotonic() + beat_every
    killed: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        try:
            exit_code = proc.wait(timeout=max(0.0, min(0.25, remaining)))
            break
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            killed = KILLED_TIMED_OUT
        elif time.monotonic() >= next_beat:
            verdict = _beat(job, attempt)
            next_beat = time.monotonic() + beat_every
            if verdict is Heartbeat.CANCEL:
                killed = KILLED_CANCELED
            elif verdict is Heartbeat.GONE:
                killed = KILLED_GONE
        if killed:
            log.info("event=job_kill job=%s attempt=%d reason=%s", job.id, attempt, killed)
            kill_tree(proc, grace=settings.JOB_KILL_GRACE_SECONDS)
            exit_code = proc.returncode
            break
    signal_group(proc.pid, signal.SIGKILL)  # stragglers still holding the output pipe
    reader.join(timeout=5)
    writer.join(timeout=1)
    if killed:
        return outcome_for_kill(reason=killed, runtime_seconds=runtime)
    return outcome_for_exit(exit_code=exit_code, attempt=attempt, max_attempts=job.max_attempts)


def _beat(job: Job, attempt: int, pid: int | None = None) -> Heartbeat:
    try:
        return services.job_heartbeat(job_id=job.id, attempt=attempt, now=timezone.now(), pid=pid)
    except Exception as exc:  # a database blip must not kill the bot; the next beat retries
        log.warning("event=job_heartbeat_failed job=%s error=%s", job.id, type(exc).__name__)
        connection.close()  # reconnect on the next beat rather than reuse a broken connection
        return Heartbeat.OK


def _record(*, job: Job, attempt: int, now: datetime, outcome: Outcome, log_text: str) -> bool:
    """job_finish_attempt, retried through a short database outage: an outcome lost here would
    leave the job `running` until the watchdog calls it lost and runs it again."""
    close_old_connections()  # hours may have passed on this thread's connection
    for delay in (1, 2, 4, 8, 0):
        try:
            return services.job_finish_attempt(
                job=job, attempt=attempt, now=now, outcome=outcome, log_text=log_text
            )
        except DatabaseError as exc:
            if not delay:
                raise
            log.warning("event=job_record_retry job=%s error=%s", job.id, type(exc).__name__)
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
