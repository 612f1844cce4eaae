"""A real Celery worker logged in as an agent's Redis user consumes its own queue, and Redis
refuses it nothing it needs (ACL LOG) — the proof that agents/broker.py's rule set is enough.

The worker is a minimal Celery app with the agent runtime's own settings
(agents.runtime.worker.CELERY_SETTINGS: plain QoS, no remote control, no events, no results,
prefetch off, early ack), in a subprocess with a clean environment; the control plane publishes `run_job` to it with agents.dispatch.jobs_send, as the
tick does."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

from agents.broker import agent_broker_url, broker_user_name, broker_user_provision
from agents.dispatch import RUN_JOB_TASK, agent_queue, jobs_send
from agents.models import hash_token
from tests.factories import AgentFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# The worker's whole program: Celery and the runtime's settings (no Django: `fixups=[]`, so the
# DJANGO_SETTINGS_MODULE it is given changes nothing).
WORKER_APP = f"""
import os
from pathlib import Path

from celery import Celery

from agents.runtime.worker import CELERY_SETTINGS

app = Celery("probe", fixups=[], broker=os.environ["PROBE_BROKER_URL"])
app.conf.update(CELERY_SETTINGS)


@app.task(name={RUN_JOB_TASK!r})
def run_job(job_id):
    Path(os.environ["PROBE_OUT"], job_id).write_text("ran")
"""


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return value


class Worker:
    def __init__(self, tmp_path: Path, *, broker_url: str, queue: str) -> None:
        (tmp_path / "probe.py").write_text(WORKER_APP)
        self.out = tmp_path / "out"
        self.out.mkdir()
        self.log_path = tmp_path / "worker.log"
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(settings.BASE_DIR)]),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PROBE_BROKER_URL": broker_url,  # in the environment, never on the command line
            "PROBE_OUT": str(self.out),
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "probe", "worker",
                    "-Q", queue, "--pool", "threads", "--concurrency", "1",
                    "--without-mingle", "--without-gossip", "--without-heartbeat",
                    "--loglevel", "INFO",
                ],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.output()}")
        return "ready." in self.output()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()  # warm shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def refused(broker_admin: redis.Redis, user: str) -> list[tuple[str, str]]:
    """(reason, object) of what Redis refused `user` since the last ACL LOG RESET."""
    entries: list[tuple[str, str]] = []
    for entry in broker_admin.acl_log():
        entry = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in entry.items()
        }
        if entry["username"] == user:
            entries.append((str(entry["reason"]), str(entry["object"])))
    return entries


@pytest.fixture
def provisioned(broker_admin):
    """provisioned() -> (agent, token), with the agent's Redis user; removed afterwards."""
    made = []

    def make():
        token = secrets.token_urlsafe(32)
        agent = AgentFactory(token_hash=hash_token(token))
        broker_user_provision(agent_id=agent.id, token_hash=agent.token_hash)
        made.append(agent)
        return agent, token

    yield make
    for agent in made:
        broker_admin.acl_deluser(broker_user_name(agent.id))
        keys = broker_admin.keys(f"{agent_queue(agent.id)}*") + broker_admin.keys(
            f"_kombu.binding*.{agent_queue(agent.id)}"
        )
        if keys:
            broker_admin.delete(*keys)


def test_it_consumes_its_own_queue_as_the_agents_redis_user(tmp_path, broker_admin, provisioned):
    agent, token = provisioned()
    url = agent_broker_url(agent_id=agent.id, token=token)
    worker = Worker(tmp_path, broker_url=url, queue=agent_queue(agent.id))
    try:
        wait_for(worker.ready, timeout=30, what="the worker to be ready")
        job_ids = [uuid.uuid4(), uuid.uuid4()]

        sent = jobs_send(jobs=[(job_id, agent.id) for job_id in job_ids])

        assert sent.published == job_ids
        for job_id in job_ids:
            wait_for((worker.out / str(job_id)).exists, timeout=30, what=f"job {job_id} to run")
    finally:
        returncode = worker.stop()
    assert returncode == 0, worker.output()
    assert broker_admin.llen(agent_queue(agent.id)) == 0
    # Nothing the worker asked for was refused, start to shutdown — but redis-py's optional
    # CLIENT SETINFO on connect (it ignores the refusal): a connection label, no data.
    assert set(refused(broker_admin, broker_user_name(agent.id))) <= {("command", "client")}
    assert "NoPermissionError" not in worker.output()


def test_it_cannot_consume_the_queue_of_another_agent(tmp_path, broker_admin, provisioned):
    agent, token = provisioned()
    other, _ = provisioned()
    jobs_send(jobs=[(uuid.uuid4(), other.id)])
    url = agent_broker_url(agent_id=agent.id, token=token)

    worker = Worker(tmp_path, broker_url=url, queue=agent_queue(other.id))
    try:
        wait_for(lambda: worker.proc.poll() is not None, timeout=30, what="the worker to give up")
    finally:
        worker.stop()

    assert "NoPermissionError" in worker.output()
    assert not list(worker.out.iterdir())
    assert broker_admin.llen(agent_queue(other.id)) == 1
    # Refused at its first look at the queue (LLEN when declaring it).
    assert ("key", agent_queue(other.id)) in refused(broker_admin, broker_user_name(agent.id))
