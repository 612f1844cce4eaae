"""Fencing (SPEC §7): a runtime that cannot confirm its claims for fenceAfterSeconds kills its
scripts — so by the time the control plane could call the job lost and retry it, the first run
is dead. The runtime reaches the control plane through a loopback relay the test cuts; when the
relay is restored, the runtime reports the fenced attempt itself and the job is retried once.
A runtime that hangs instead (frozen with SIGSTOP) cannot fence: its scripts' supervisors do.
Real runtime, real PostgreSQL and Redis."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading

import pytest
from django.utils import timezone

from agents.dispatch import jobs_publish
from agents.models import ErrorKind, Job, JobStatus
from agents.watchdog import watchdog_run
from tests.process.helpers import (
    make_agent,
    make_job,
    make_org,
    pid_alive,
    runtime_env,
    wait_for,
    wait_for_status,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Attempt 1 hangs (and spawns a child); attempt 2 succeeds.
HANGS_ONCE = """
import json, os, subprocess, sys, time
payload = json.load(sys.stdin)
if payload["job"]["attempt"] == 1:
    child = subprocess.Popen(["sleep", "120"])
    print(f"script={os.getpid()} child={child.pid}", flush=True)
    time.sleep(120)
print("second attempt ran")
"""


def first_attempt_pids(job) -> tuple[int, int]:
    """Wait for attempt 1 to log its pids (live log), then return (script, child)."""
    wait_for(
        lambda: Job.objects.filter(id=job.id, log__contains="child=").exists(),
        timeout=15,
        what="the first attempt to run",
    )
    log = Job.objects.get(id=job.id).log
    pids = re.search(r"script=(\d+) child=(\d+)", log)
    assert pids, log
    return int(pids[1]), int(pids[2])


def retried_once(job):
    """The fenced attempt, reported by its runtime, is retried (republished by the watchdog)
    and the retry succeeds."""
    wait_for_status(job, JobStatus.RETRYING, timeout=30)
    assert watchdog_run(now=timezone.now())["republished"] == [str(job.id)]
    return wait_for_status(job, JobStatus.SUCCEEDED, timeout=30)


class Relay:
    """A loopback TCP relay to the live server that the test can cut (connections refused
    by closing them at once) and restore."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.cut = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def test_it_kills_its_script_when_it_cannot_confirm_its_claim(start_agent, control_plane, settings):
    host, port = control_plane.removeprefix("http://").split(":")
    relay = Relay((host, int(port)))
    try:
        agent = make_agent(make_org())
        job = make_job(agent, HANGS_ONCE, max_attempts=2, retry_delay_seconds=0)
        env = runtime_env(agent, MIMIC_URL=relay.url)
        start_agent(agent, env=env)
        jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
        script_pid, child_pid = first_attempt_pids(job)

        relay.cut.set()  # the control plane is away for the runtime
        fence = (
            settings.AGENT_ONLINE_SECONDS
            - settings.AGENT_HEARTBEAT_SECONDS
            - settings.JOB_KILL_GRACE_SECONDS
        )
        wait_for(
            lambda: not pid_alive(script_pid) and not pid_alive(child_pid),
            timeout=fence + settings.JOB_KILL_GRACE_SECONDS + 5,
            what="the fenced script and its child to be killed",
        )
        # Nobody on the control plane has decided anything yet: the runner fenced itself.
        assert Job.objects.get(id=job.id).status == JobStatus.RUNNING

        relay.cut.clear()  # back: the runtime reports the fenced attempt itself
        job = retried_once(job)
    finally:
        relay.close()
    attempts = list(job.attempts.order_by("number"))
    assert [(a.number, a.status) for a in attempts] == [
        (1, JobStatus.FAILED),
        (2, JobStatus.SUCCEEDED),
    ]
    assert attempts[0].error_kind == ErrorKind.LOST
    assert "second attempt ran" in job.log


def test_a_frozen_runtimes_script_is_fenced_by_its_supervisor(start_agent, settings):
    agent = make_agent(make_org())
    job = make_job(agent, HANGS_ONCE, max_attempts=2, retry_delay_seconds=0)
    runtime = start_agent(agent)
    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    script_pid, child_pid = first_attempt_pids(job)

    os.kill(runtime.pid, signal.SIGSTOP)  # hung: it heartbeats, fences, reports nothing
    try:
        lost_after = settings.AGENT_ONLINE_SECONDS
        wait_for(
            lambda: not pid_alive(script_pid) and not pid_alive(child_pid),
            timeout=lost_after,  # dead before the control plane could call the job lost
            what="the supervisor to fence the script of a frozen runtime",
        )
        assert Job.objects.get(id=job.id).status == JobStatus.RUNNING
    finally:
        os.kill(runtime.pid, signal.SIGCONT)

    job = retried_once(job)  # reported by the thawed runtime
    attempts = list(job.attempts.order_by("number"))
    assert [(a.number, a.status, a.error_kind) for a in attempts] == [
        (1, JobStatus.FAILED, ErrorKind.LOST),
        (2, JobStatus.SUCCEEDED, ""),
    ]
