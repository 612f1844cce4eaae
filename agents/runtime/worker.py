"""The runtime's Celery app: this agent's queue only, and the one task it runs.

Each setting is deliberate (SPEC §7):
- `fixups=[]`: Celery's Django fixup stays off, so DJANGO_SETTINGS_MODULE changes nothing;
- early acknowledgement, no reject-on-worker-lost: a job's state lives on the control plane
  (compare-and-swap claim + watchdog), never in a redelivered message;
- no prefetch: a free slot takes the next message, a busy agent holds none back;
- plain QoS (`ack_emulation` off): no shared `unacked` keys, which a per-agent Redis user could
  not touch and a hostile agent could misuse;
- no remote control, no events, no gossip/mingle/heartbeat, no result backend: an agent talks
  to nobody on the broker but its own queue;
- threads pool: a job's work happens in a subprocess, a slot only waits on it; one process to
  stop, and the heartbeat in the same process.
"""

from __future__ import annotations

import socket

from celery import Celery, signals

from agents.runtime import jobs

RUN_JOB_TASK = "agents.tasks.run_job"

_context: jobs.Context | None = None


# The runtime's Celery settings (also used by agents/tests/test_broker_acl_celery.py, which
# proves a worker configured so consumes with nothing but the agent's own Redis user).
CELERY_SETTINGS = {
    "task_acks_late": False,
    "task_reject_on_worker_lost": False,
    "worker_prefetch_multiplier": 1,
    "worker_disable_prefetch": True,
    "broker_transport_options": {"ack_emulation": False},
    "broker_connection_retry_on_startup": True,
    "worker_enable_remote_control": False,
    "worker_send_task_events": False,
    "task_send_sent_event": False,
    "task_ignore_result": True,
    "result_backend": None,
    "task_serializer": "json",
    "accept_content": ["json"],
    "timezone": "UTC",
    "enable_utc": True,
    "worker_hijack_root_logger": False,
    "task_create_missing_queues": True,
}


def make_app(broker_url: str) -> Celery:
    app = Celery("mimic-agent", broker=broker_url, fixups=[], set_as_current=True)
    app.conf.update(CELERY_SETTINGS)

    @app.task(name=RUN_JOB_TASK, bind=True, ignore_result=True)
    def run_job(self, job_id: str) -> str:
        assert _context is not None, "the runtime's context is set before the worker starts"
        return jobs.run(_context, job_id=str(job_id), worker=self.request.hostname or "")

    return app


def keep_the_runtime_logging(**_kwargs: object) -> None:
    """The runtime configured logging at start (JSON lines, agents/runtime/logformat.py): a receiver of Celery's
    setup_logging signal keeps Celery from adding its own handlers and format (and `loglevel`
    below from applying). Connected by start(), not on import: a process that only borrows
    CELERY_SETTINGS keeps Celery's logging."""


def start(app: Celery, *, context: jobs.Context, queue: str, agent_id: str, loglevel: str) -> int:
    """Consume `queue` until a warm shutdown; returns the worker's exit code."""
    global _context
    _context = context
    signals.setup_logging.connect(keep_the_runtime_logging)
    worker = app.Worker(
        hostname=f"agent-{agent_id[:8]}@{socket.gethostname()}",
        queues=[queue],
        concurrency=context.tuning.capacity,
        pool_cls="threads",
        prefetch_multiplier=1,
        optimization="fair",
        loglevel=loglevel,
        quiet=True,  # no start-up banner: the output is JSON lines only
        without_mingle=True,
        without_gossip=True,
        without_heartbeat=True,
    )
    worker.start()
    return worker.exitcode or 0
