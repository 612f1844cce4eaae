"""The embedded demo database of `make run` (SQLite): migrations, seed_demo and a tick that
dispatches — the ORM fallbacks of the tick's set-based writes, exercised for real in a
subprocess (the suite itself runs on PostgreSQL)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

TICK = """
import json
from datetime import timedelta
from django.utils import timezone
from schedules.api.serializers import report_json
from schedules.engine import run_tick
from schedules.models import Schedule
from schedules.selectors import prewarm_candidates, schedule_recent_outcomes, schedule_stats
from agents.models import Agent, Job
s = Schedule.objects.get()
Agent.objects.update(status="online", last_heartbeat_at=s.next_run_at)
report = report_json(run_tick(now=s.next_run_at + timedelta(seconds=1)))
again = report_json(run_tick(now=s.next_run_at + timedelta(seconds=2)))
s.refresh_from_db()
Agent.objects.update(prewarm_minutes=1440)
# The pre-warm query's duration arithmetic, on SQLite: the agent's next run is within a day.
prewarm = [str(a.id) for a, _ in prewarm_candidates(now=s.fire_at - timedelta(minutes=1))]
# Runtime statistics on SQLite (percentiles in Python), and the list's sparkline window query.
job = Job.objects.get()
status = job.status
Job.objects.update(status="succeeded", started_at=job.created_at + timedelta(seconds=2),
                   finished_at=job.created_at + timedelta(seconds=92))
later = job.created_at + timedelta(minutes=5)
stats = schedule_stats(schedule_id=s.id, now=later)
outcomes = schedule_recent_outcomes(schedule_ids=[s.id], limit=10)[s.id]
print(json.dumps({"report": report, "again": again, "jobs": Job.objects.count(),
                  "status": status, "prewarm": prewarm,
                  "agent": str(s.agent_id), "outcomes": outcomes,
                  "stats": [stats.runs, stats.success_rate, stats.p95_duration_seconds,
                            stats.p50_queue_wait_seconds, stats.suggested_max_runtime_minutes]}))
"""


def test_it_seeds_and_dispatches_on_the_embedded_sqlite_database(tmp_path, redis_url):
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        REDIS_URL=redis_url,
        # Batches of one: the demo's one due schedule fills a batch, so the walk claims again
        # after its cursor — the raw row-value comparisons of the claims, run on SQLite.
        TICK_BATCH_SIZE="1",
    )
    env.pop("DATABASE_URL_TEST", None)

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout

    manage("migrate", "--noinput", "-v", "0")
    seeded = json.loads(manage("seed_demo", "--json").strip().splitlines()[-1])
    out = json.loads(manage("shell", "-c", TICK).strip().splitlines()[-1])

    assert out["report"]["errors"] == []
    assert [t["scheduleId"] for t in out["report"]["triggeredSchedules"]] == [seeded["scheduleId"]]
    assert out["again"]["triggeredSchedules"] == []  # the occurrence is consumed
    assert out["jobs"] == 1
    assert out["status"] == "queued"  # published to the broker
    assert out["prewarm"] == [out["agent"]]
    # The statistics on SQLite: one run of 90 s, started 2 s after dispatch; 90 × 1.5 = 135 s.
    assert out["stats"] == [1, 1.0, 90.0, 2.0, 3]
    assert out["outcomes"] == ["succeeded"]
