"""`manage.py runagent <agent-id-or-slug>`: be that agent (SPEC §7).

A Celery worker consuming only the agent's own queue (`agent.<id>`), `capacity` jobs at a time,
without prefetch, plus a heartbeat thread that keeps the agent `online`. A clean shutdown
(SIGTERM/SIGINT: Celery's warm shutdown lets running jobs finish) marks it `stopped`; kill -9
leaves no mark — the heartbeat's age tells (agents.readiness.effective_status), and the
watchdog recovers its jobs.

Pool: threads. A job's work happens in a subprocess (agents.runner), so a pool slot only waits
on it; threads give capacity = N slots in one process, with one pid to signal for a stop and the
heartbeat in the same process. The runner owns each job's process group itself (deadline,
cancel, agent death). Prefork would add a pool child per slot whose own time-limit kill
(SIGKILL of the child) would orphan the script's group.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils import timezone

from agents import selectors, services
from agents.models import AgentStatus

log = logging.getLogger("agents.runagent")


class Command(BaseCommand):
    help = "Run an agent: a Celery worker on the agent's own queue, heartbeating."

    def add_arguments(self, parser):
        parser.add_argument("agent", help="The agent's id, or its slug when that is unambiguous.")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, agent: str, loglevel: str, **options):
        try:
            row = selectors.agent_get_by_ref(agent)
        except selectors.AgentRefError as exc:
            raise CommandError(str(exc)) from None
        if row.status == AgentStatus.DISABLED:
            raise CommandError(f"Agent {row.slug} is disabled; enable it first.")
        lock = _single_instance_lock(row.id)  # held for the life of the process
        if lock is None:
            raise CommandError(f"Agent {row.slug} ({row.id}) already runs on this host.")

        host = socket.gethostname()
        pid = os.getpid()
        services.agent_heartbeat(agent_id=row.id, now=timezone.now(), pid=pid, hostname=host)
        beat = _AgentHeartbeat(agent_id=row.id, pid=pid, hostname=host)

        from config.celery import app

        # Celery 5.5+: on Redis, reserve no message beyond the free pool slots — with prefetch
        # multiplier 1 a busy worker still holds one extra message per slot, which would wait
        # behind a 10-hour job instead of going to another agent process of this queue.
        app.conf.worker_disable_prefetch = True
        worker = app.Worker(
            hostname=f"agent-{row.slug}.{row.id.hex[:8]}@{host}",
            queues=[row.queue_name],
            concurrency=row.capacity,
            pool_cls="threads",
            prefetch_multiplier=1,
            optimization="fair",
            loglevel=loglevel,
            # No worker-to-worker chatter at boot or while idle: agents share nothing.
            without_mingle=True,
            without_gossip=True,
        )
        log.info(
            "event=agent_start agent=%s queue=%s capacity=%d pid=%d",
            row.slug,
            row.queue_name,
            row.capacity,
            pid,
        )
        beat.start()
        try:
            worker.start()
        finally:
            beat.stop()
            services.agent_mark_stopped(agent_id=row.id, pid=pid)
            connection.close()
            log.info("event=agent_stopped agent=%s pid=%d", row.slug, pid)
        if worker.exitcode:
            raise SystemExit(worker.exitcode)


def _single_instance_lock(agent_id):
    """An exclusive lock per agent on this host: two local starts racing spawn one worker."""
    run_dir = Path(settings.AGENT_RUN_DIR)
    run_dir.mkdir(parents=True, exist_ok=True)
    fh = open(run_dir / f"agent-{agent_id}.lock", "a+")  # noqa: SIM115 — held until exit
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


class _AgentHeartbeat(threading.Thread):
    """Writes last_heartbeat_at/online every AGENT_HEARTBEAT_SECONDS until stopped."""

    def __init__(self, *, agent_id, pid: int, hostname: str):
        super().__init__(name="agent-heartbeat", daemon=True)
        self.agent_id, self.pid, self.host = agent_id, pid, hostname
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def run(self) -> None:
        interval = max(settings.AGENT_HEARTBEAT_SECONDS, 0.2)
        while not self._stop_event.wait(interval):
            try:
                close_old_connections()
                alive = services.agent_heartbeat(
                    agent_id=self.agent_id, now=timezone.now(), pid=self.pid, hostname=self.host
                )
            except Exception as exc:  # the database may blip; keep beating
                log.warning("event=agent_heartbeat_failed error=%s", type(exc).__name__)
                continue
            if not alive:
                log.error("event=agent_deleted agent=%s: shutting down", self.agent_id)
                os.kill(os.getpid(), signal.SIGTERM)
                return
        connection.close()
