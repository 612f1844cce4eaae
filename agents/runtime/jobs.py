"""One attempt of one job on this agent: claim -> run -> stream the log -> report.

The claim (a compare-and-swap on the control plane) is what makes a redelivered or duplicated
message harmless: a job that is not claimable is dropped. The runtime enforces the deadline it
was given (on its own monotonic clock: a wall-clock jump must not kill or spare a job) and kills
the script when the heartbeat says cancel or drop, or when it can no longer confirm its claim
(fencing, see heartbeat.py). It decides no outcome: `finish` reports the exit code and whether
the runtime killed the script, and the control plane decides.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

from agents.runtime import process
from agents.runtime.client import AgentClient, Unreachable
from agents.runtime.logformat import log_event

log = logging.getLogger("agents.runtime.jobs")

# Why the runtime killed a script (sent to the control plane as `killed`).
TIMED_OUT = "timed_out"  # its deadline passed
CANCELED = "canceled"  # the heartbeat answered cancel
DROPPED = "dropped"  # the heartbeat answered drop: the attempt is no longer ours
FENCED = "fenced"  # no confirmed heartbeat for fenceAfterSeconds
STOPPING = "stopping"  # the runtime is shutting down hard (token revoked)

# Output is sent in complete lines, at most this often, so a secret is never split between
# two chunks (the control plane redacts each chunk).
LOG_FLUSH_SECONDS = 1.0
# A line longer than this is sent without waiting for its end.
LONG_LINE_BYTES = 16 * 1024
# What the runtime keeps unsent while the control plane is unreachable; older output is
# dropped (the control plane bounds the stored log anyway).
UNSENT_MAX_BYTES = 256 * 1024


@dataclass
class Tuning:
    """Set from the control plane's heartbeat answers (one source of truth for intervals)."""

    heartbeat_seconds: float = 15.0
    fence_after_seconds: float = 30.0
    kill_grace_seconds: float = 10.0
    capacity: int = 1


@dataclass
class RunningJob:
    job_id: str
    attempt: int
    kill_reason: str | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    # The write end of its supervisor's pulse pipe while the script runs; guarded so that the
    # heartbeat thread never writes to a descriptor the job's thread closed (and the OS reused).
    pulse: int | None = None
    pulse_lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self, reason: str) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason
        self.wake.set()

    def confirm(self) -> None:
        with self.pulse_lock:
            if self.pulse is not None:
                process.confirm(self.pulse)

    def close_pulse(self) -> None:
        with self.pulse_lock:
            pulse, self.pulse = self.pulse, None
        if pulse is not None:
            os.close(pulse)


class Registry:
    """The attempts this runtime is running, shared by the task threads and the heartbeat."""

    def __init__(self) -> None:
        self._jobs: dict[str, RunningJob] = {}
        self._lock = threading.Lock()

    def add(self, job: RunningJob) -> None:
        with self._lock:
            self._jobs[job.job_id] = job

    def remove(self, job: RunningJob) -> None:
        with self._lock:
            if self._jobs.get(job.job_id) is job:
                del self._jobs[job.job_id]

    def snapshot(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(job.job_id, job.attempt) for job in self._jobs.values()]

    def kill(self, job_id: str, reason: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            job.kill(reason)
        return job is not None

    def confirm_all(self) -> None:
        """A heartbeat was answered: every supervisor may let its script run on."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.confirm()

    def kill_all(self, reason: str) -> int:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.kill(reason)
        return len(jobs)


class Output:
    """A script's output on its way to the control plane: filled by a reader thread, taken in
    complete lines by the job's thread."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._dropped = 0
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        with self._lock:
            self._buffer += chunk
            excess = len(self._buffer) - UNSENT_MAX_BYTES
            if excess > 0:
                del self._buffer[:excess]
                self._dropped += excess

    def take(self, *, final: bool = False) -> str:
        with self._lock:
            end = len(self._buffer) if final else self._buffer.rfind(b"\n") + 1
            if not final and end == 0 and len(self._buffer) >= LONG_LINE_BYTES:
                end = len(self._buffer)
            data, dropped = bytes(self._buffer[:end]), self._dropped
            del self._buffer[:end]
            self._dropped = 0
        text = data.decode("utf-8", errors="replace")
        if dropped:
            text = f"…{dropped} bytes not sent (control plane unreachable)…\n" + text
        return text


@dataclass
class Context:
    """What every job of this runtime shares (built once by __main__)."""

    client: AgentClient
    registry: Registry
    tuning: Tuning
    work_base: str
    user: process.ScriptUser | None
    python: str
    passthrough: dict[str, str]


def run(ctx: Context, *, job_id: str, worker: str) -> str:
    """Run one attempt of `job_id` if the control plane lets this agent claim it. Returns what
    happened: the control plane's resulting status, "dropped" or "superseded"."""
    claim = ctx.client.claim(job_id=job_id, worker=worker)
    if claim is None:
        return "dropped"
    job = claim["job"]
    attempt = int(job["attempt"])
    running = RunningJob(job_id=job_id, attempt=attempt)
    ctx.registry.add(running)
    log_event(
        log,
        logging.INFO,
        "job_claimed",
        job=job_id,
        attempt=attempt,
        max_attempts=job.get("maxAttempts"),
    )
    started = time.monotonic()
    try:
        try:
            report = _execute(ctx, running=running, claim=claim)
        except Exception as exc:  # never leave a claimed job running because of our own bug
            log_event(log, logging.ERROR, "job_runtime_error", exc_info=True, job=job_id)
            report = {"exitCode": None, "error": f"agent runtime error: {type(exc).__name__}"}
        answer = _report(ctx, running=running, report=report)
    finally:
        ctx.registry.remove(running)
    if answer is _UNREPORTED:
        return "unreported"
    status = answer.get("status", "?") if answer else "superseded"
    log_event(
        log,
        logging.INFO,
        "job_attempt_finished",
        job=job_id,
        attempt=attempt,
        status=status,
        exit_code=report.get("exitCode"),
        seconds=round(time.monotonic() - started, 1),
    )
    return status


_UNREPORTED = object()
# How long a runtime keeps trying to report a finished attempt while the control plane is away.
FINISH_PATIENCE_SECONDS = 3600.0


def _report(ctx: Context, *, running: RunningJob, report: dict):
    """Report the attempt until the control plane takes it. The attempt stays in the registry
    meanwhile, so heartbeats keep it alive: a bot that finished while the control plane was away
    is recorded as it ended when it comes back — never declared lost and run again. Gives up
    when the attempt is no longer this runner's (drop) or after FINISH_PATIENCE_SECONDS."""
    give_up = time.monotonic() + FINISH_PATIENCE_SECONDS
    while True:
        try:
            return ctx.client.finish(job_id=running.job_id, attempt=running.attempt, report=report)
        except Unreachable as exc:
            if running.kill_reason == DROPPED or time.monotonic() >= give_up:
                log_event(
                    log, logging.WARNING, "job_finish_unreported", job=running.job_id, error=exc
                )
                return _UNREPORTED
            log_event(log, logging.INFO, "job_finish_retry", job=running.job_id, error=exc)
            running.wake.wait(min(ctx.tuning.heartbeat_seconds, 30.0))


def _execute(ctx: Context, *, running: RunningJob, claim: dict) -> dict:
    script = claim["script"]
    workdir = process.make_workdir(
        base=ctx.work_base, job_id=running.job_id, attempt=running.attempt, user=ctx.user
    )
    try:
        path = process.write_script(
            workdir=workdir, runtime=script["runtime"], source=script["source"], user=ctx.user
        )
        env = process.script_env(
            job_id=running.job_id,
            attempt=running.attempt,
            workdir=workdir,
            passthrough=ctx.passthrough,
        )
        # The supervisor's own fence: a little after the runtime's, so a runtime that works
        # fences first; one that hangs is fenced by the supervisor, still before the control
        # plane's lost threshold (fenceAfterSeconds leaves a heartbeat and the kill grace).
        fence = ctx.tuning.fence_after_seconds + ctx.tuning.heartbeat_seconds / 2
        try:
            proc, pulse = process.start(
                runtime=script["runtime"],
                path=path,
                workdir=workdir,
                env=env,
                user=ctx.user,
                python=ctx.python,
                fence_seconds=fence,
            )
        except (OSError, ValueError) as exc:
            return {"exitCode": None, "error": f"could not start the script: {exc}"}
        with running.pulse_lock:
            running.pulse = pulse
        try:
            return _supervise(ctx, proc=proc, running=running, claim=claim)
        finally:
            # Whatever happened, nothing of this job outlives it (a daemonized grandchild
            # included, unless it left the group on purpose).
            process.signal_group(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.wait()
            running.close_pulse()
    finally:
        process.remove_workdir(workdir)


def _supervise(
    ctx: Context, *, proc: subprocess.Popen[bytes], running: RunningJob, claim: dict
) -> dict:
    # process.start opens both pipes, buffered: stdout is a BufferedReader (read1 returns what
    # is there, without waiting for a full chunk).
    stdin, stdout = proc.stdin, proc.stdout
    if stdin is None or not isinstance(stdout, io.BufferedReader):
        raise TypeError("the script's process needs a stdin pipe and a buffered stdout pipe")
    payload = json.dumps(
        {"variables": claim.get("variables") or {}, "secrets": claim.get("secrets") or {}}
        | {"job": claim["job"]}
    ).encode()
    output = Output()

    def feed() -> None:
        try:
            stdin.write(payload)
            stdin.close()
        except OSError:  # the script exited without reading stdin: fine
            pass

    def drain() -> None:
        while chunk := stdout.read1(65536):
            output.write(chunk)

    writer = threading.Thread(target=feed, name=f"job-stdin-{running.job_id}", daemon=True)
    reader = threading.Thread(target=drain, name=f"job-stdout-{running.job_id}", daemon=True)
    writer.start()
    reader.start()

    deadline = time.monotonic() + float(claim["job"]["maxRuntimeSeconds"])
    next_flush = time.monotonic() + LOG_FLUSH_SECONDS
    sending = True
    timed_out = False
    while True:
        try:
            exit_code = proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            running.kill(TIMED_OUT)
        if running.kill_reason:
            log_event(
                log,
                logging.INFO,
                "job_kill",
                job=running.job_id,
                attempt=running.attempt,
                reason=running.kill_reason,
            )
            process.kill_tree(proc, grace=ctx.tuning.kill_grace_seconds)
            exit_code = proc.returncode
            break
        if sending and now >= next_flush:
            sending = _send(ctx, running, output.take())
            next_flush = now + LOG_FLUSH_SECONDS
    if exit_code == -signal.SIGKILL and running.kill_reason is None:
        # Nothing here killed it, and only a supervisor SIGKILLs itself (with its group): it
        # fenced the script because this runtime confirmed nothing for too long (it hung).
        running.kill(FENCED)
    process.signal_group(proc.pid, signal.SIGKILL)  # stragglers still holding the output pipe
    reader.join(timeout=5)
    writer.join(timeout=1)
    if sending:
        _send(ctx, running, output.take(final=True))
    report: dict = {"exitCode": exit_code, "timedOut": timed_out}
    if running.kill_reason and not timed_out:
        report["killed"] = running.kill_reason
    return report


def _send(ctx: Context, running: RunningJob, text: str) -> bool:
    """Send a chunk of output; False once the attempt is no longer ours (stop sending)."""
    if not text:
        return True
    try:
        return ctx.client.log(job_id=running.job_id, attempt=running.attempt, chunk=text)
    except Unreachable as exc:
        log_event(log, logging.WARNING, "job_log_unsent", job=running.job_id, error=exc)
        return True  # lost output is a pity, not a reason to stop the bot


def make_work_base(parent: str | None) -> str:
    """The runtime's own folder for job work folders: 0711, so a script user can enter its own
    work folder (0700, its own) but list nobody's."""
    base = tempfile.mkdtemp(prefix="mimic-agent-", dir=parent)
    os.chmod(base, 0o711)
    return base
