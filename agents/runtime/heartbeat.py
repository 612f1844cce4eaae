"""The agent's pulse: every `heartbeatSeconds` it tells the control plane which attempts it is
running and does what the answer says.

- `cancel`: kill those scripts (the control plane records them canceled);
- `drop`: those attempts are no longer this runner's (declared lost, retried elsewhere,
  finished) — kill them, report nothing more;
- `stop`: shut down gracefully (Celery's warm shutdown: running jobs finish first);
- 401: the token was rotated or the agent deleted — kill everything and exit.

Fencing — never two runs of one job at once: when no heartbeat has been confirmed for
`fenceAfterSeconds`, the runtime kills every script it runs. Each confirmed heartbeat is also
passed to every script's supervisor through a pipe, and a supervisor that hears nothing for a
little longer kills its script itself — so a runtime that hangs instead of failing is fenced
too (agents/runtime/process.py). The control plane declares a job
lost only after a longer threshold, so by the time a retry can start the first run is dead.
The silence is measured on CLOCK_BOOTTIME, which keeps counting while a VM is suspended (a
monotonic clock that paused would let a resumed VM keep running a job already retried).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

from agents.runtime.client import AgentClient, Unauthorized, Unreachable
from agents.runtime.jobs import CANCELED, DROPPED, FENCED, STOPPING, Registry, Tuning
from agents.runtime.logformat import log_event

log = logging.getLogger("agents.runtime.heartbeat")


def boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


def apply_tuning(tuning: Tuning, answer: dict) -> None:
    """The control plane's answer carries the intervals; the runtime has no settings of its own."""
    for key, attr in (
        ("heartbeatSeconds", "heartbeat_seconds"),
        ("fenceAfterSeconds", "fence_after_seconds"),
        ("killGraceSeconds", "kill_grace_seconds"),
    ):
        value = answer.get(key)
        if isinstance(value, int | float) and value > 0:
            setattr(tuning, attr, float(value))
    capacity = answer.get("capacity")
    if isinstance(capacity, int) and capacity > 0:
        tuning.capacity = capacity


class Pulse(threading.Thread):
    def __init__(
        self,
        *,
        client: AgentClient,
        registry: Registry,
        tuning: Tuning,
        shutdown: Callable[[], None] | None = None,
    ):
        super().__init__(name="agent-heartbeat", daemon=True)
        self.client, self.registry, self.tuning = client, registry, tuning
        self.hostname = socket.gethostname()
        self.last_confirmed = boottime()
        self.fenced = False
        self._stop_event = threading.Event()
        self._shutdown = shutdown or _warm_shutdown
        self._stop_requested = False

    def first(self) -> dict:
        """The first beat, before the worker starts: proves the token and brings the tuning."""
        answer = self.client.heartbeat(running=[], hostname=self.hostname)
        apply_tuning(self.tuning, answer)
        self.last_confirmed = boottime()
        return answer

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._stop_event.wait(self.tuning.heartbeat_seconds):
            self.beat()

    def beat(self) -> None:
        running = self.registry.snapshot()
        try:
            answer = self.client.heartbeat(
                running=running,
                hostname=self.hostname,
                timeout=max(1.0, self.tuning.heartbeat_seconds),
            )
        except Unauthorized as exc:
            log_event(
                log,
                logging.ERROR,
                "agent_token_refused",
                detail=exc,
                note="killing every script, exiting",
            )
            self.registry.kill_all(STOPPING)
            self._stop_event.set()
            self._shutdown()
            return
        except Unreachable as exc:
            silent = boottime() - self.last_confirmed
            log_event(
                log,
                logging.WARNING,
                "heartbeat_failed",
                seconds_unconfirmed=round(silent, 1),
                error=exc,
            )
            if silent >= self.tuning.fence_after_seconds and running:
                killed = self.registry.kill_all(FENCED)
                log_event(
                    log,
                    logging.ERROR,
                    "fenced",
                    jobs=killed,
                    seconds_unconfirmed=round(silent, 1),
                    note="the control plane may already have given them to another runner",
                )
            return
        self.last_confirmed = boottime()
        apply_tuning(self.tuning, answer)
        self.registry.confirm_all()
        for job_id in answer.get("cancel") or []:
            if self.registry.kill(str(job_id), CANCELED):
                log_event(log, logging.INFO, "job_cancel_received", job=job_id)
        for job_id in answer.get("drop") or []:
            if self.registry.kill(str(job_id), DROPPED):
                log_event(log, logging.INFO, "job_dropped", job=job_id)
        if answer.get("stop") and not self._stop_requested:
            self._stop_requested = True
            log_event(
                log,
                logging.INFO,
                "agent_stop_received",
                note="finishing running jobs, then exiting",
            )
            self._shutdown()

    def goodbye(self) -> None:
        """Tell the control plane this runtime has stopped (best effort)."""
        try:
            self.client.heartbeat(running=[], hostname=self.hostname, stopped=True)
        except (Unauthorized, Unreachable) as exc:
            log_event(log, logging.INFO, "agent_goodbye_unsent", error=exc)


def _warm_shutdown() -> None:
    # Celery's worker turns SIGTERM into a warm shutdown: no new message, running jobs finish.
    os.kill(os.getpid(), signal.SIGTERM)
