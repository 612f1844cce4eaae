"""The tick against SPEC §15's targets, on real PostgreSQL and Redis, side by side with
django-celery-beat 2.9's DatabaseScheduler on the same database, Redis and entries. Prints
figures and ends with one JSON line; asserts nothing about time (timing claims belong here,
never in a test).

    make bench BENCH=benchmarks/bench_tick.py                                   # 100,000 / 10,000 due
    BENCH_SCHEDULES=10000 BENCH_DUE=1000 make bench BENCH=benchmarks/bench_tick.py
    BENCH_SCHEDULES=1000000 make bench BENCH=benchmarks/bench_tick.py            # this product alone

It writes to the database named by DATABASE_URL (`make bench` gives it a throwaway one) and, with
BENCH_DURABLE=1 (the default), turns that server's durability to production's first (fsync,
synchronous_commit, full_page_writes on: a throwaway server with fsync off is not production).
`make bench` also sizes that server's buffer pool as production's would be (shared_buffers, its
BENCH_SHARED_BUFFERS, default 1GB; bin/services.py says why); the JSON line states it.

Figures:
- idle tick (nothing due): median/p95 ms and its number of queries, at 1,000 and at N schedules;
- a minute where BENCH_DUE are due, every gate on (billing with a quota, concurrency, an
  idempotency window, vault keys, agent readiness), BENCH_RUNS times (default 3; the JSON line
  has the median, the spread is printed): wall time until every job row is written and every
  broker message sent, with one evaluator (this process) and with two evaluator processes
  (started, connected, before the minute, as production's workers are); lateness (send
  time - scheduled minute) p50/p99 of the first run; peak Python memory of a busy tick;
- django-celery-beat (BENCH_DCB=1, the default up to 100,000 schedules): the same N entries as
  PeriodicTask/CrontabSchedule rows (same expressions and timezones), the due ones made due
  this minute as the product's are; its startup (the scheduler built and its schedule read),
  its idle tick, and how many distinct due entries it sends within BENCH_DCB_SECONDS (default
  120) to a queue nobody consumes. ratio = the product's dispatches per second (one evaluator)
  / django-celery-beat's.

The JSON line: schedules, due, idleTickMs, idleTickQueries, oneEvaluatorSeconds,
twoEvaluatorsSeconds, latenessP99Seconds, peakTickMiB, dcbStartupSeconds, dcbIdleTickMs,
dcbSent, dcbSentPerSecond, ratio, runs (each run's one/two evaluator seconds), fsync,
synchronousCommit, sharedBuffers, cpus.
"""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

logging.disable(logging.WARNING)  # the figures, not a log line per vault write or tick

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from agents.models import Agent, Job, Script, ScriptVersion  # noqa: E402
from billing.models import Organization  # noqa: E402
from schedules import cron, engine  # noqa: E402
from schedules.models import Schedule, ScheduleEvent  # noqa: E402
from vault.services import vault_set  # noqa: E402

N = int(os.environ.get("BENCH_SCHEDULES", 100_000))
DUE = min(N, int(os.environ.get("BENCH_DUE", 10_000)))
RUNS = int(os.environ.get("BENCH_RUNS", 3))
DCB = os.environ.get("BENCH_DCB", "1" if N <= 100_000 else "0") == "1"
DCB_SECONDS = float(os.environ.get("BENCH_DCB_SECONDS", 120))
DURABLE = os.environ.get("BENCH_DURABLE", "1") == "1"
DCB_QUEUE = "bench-dcb"  # nobody consumes it
ORGS = 30
EXPRESSIONS = [  # a realistic mix: business hours, nightly, month-end, intervals
    "*/5 * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "0 9 * * MON-FRI",
    "15 6 * * *",
    "0 0 * * *",
    "0 18 * * 1-5",
    "0 7 1 * *",
    "0 23 L * *",
    "0 9 * * MON#1",
    "*/20 8-17 * * 1-5",
    "45 4 * * SUN",
    "0 12 15 * *",
    "0 3 * * 6",
]
TIMEZONES = [
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Warsaw",
    "Europe/Istanbul",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/Toronto",
    "America/Havana",
    "America/St_Johns",
    "Pacific/Honolulu",
]


def say(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def wipe() -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    models = (ScheduleEvent, Job, ScriptVersion, Schedule, Script, Agent, Organization)
    tables = ", ".join(m._meta.db_table for m in (*models, PeriodicTask, CrontabSchedule))
    with connection.cursor() as c:
        c.execute(f"TRUNCATE {tables} CASCADE")


def durability(durable: bool) -> dict:
    """Production durability on the throwaway server (reloadable settings), and what is in force."""
    with connection.cursor() as c:
        if durable:
            for name in ("fsync", "synchronous_commit", "full_page_writes"):
                c.execute(f"ALTER SYSTEM SET {name} = on")
            c.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)  # the postmaster signals its backends; ours reads it before a query
        found = {}
        for name in ("fsync", "synchronous_commit", "shared_buffers"):
            c.execute(f"SHOW {name}")
            found[name] = c.fetchone()[0]
    return found


def populate(now, total: int, due: int, due_at) -> list[Agent]:
    rng = random.Random(42)
    orgs = Organization.objects.bulk_create(
        Organization(
            name=f"Org {i}", slug=f"bench-{i}", billing_status="active", monthly_run_quota=10**6
        )
        for i in range(ORGS)
    )
    agents = Agent.objects.bulk_create(
        Agent(
            organization=o,
            name=f"bot {i}",
            slug=f"bot-{i}",
            status="online",
            last_heartbeat_at=now,
            capacity=4,
        )
        for i, o in enumerate(orgs)
    )
    scripts = Script.objects.bulk_create(
        Script(organization=o, name="portal sync", source="print('ok')\n") for o in orgs
    )
    ScriptVersion.objects.bulk_create(  # bulk_create skips Script.save(), which writes these
        ScriptVersion(
            organization=s.organization, script=s, version=1, runtime=s.runtime, source=s.source
        )
        for s in scripts
    )
    for o in orgs:
        vault_set(organization=o, key="PORTAL_PASSWORD", value="bench-secret")
    rows = []
    for i in range(total):
        k = i % ORGS
        expr, tz = rng.choice(EXPRESSIONS), rng.choice(TIMEZONES)
        is_due = i < due
        next_run = due_at if is_due else cron.next_after(expr, tz, due_at)
        rows.append(
            Schedule(
                organization=orgs[k],
                agent=agents[k],
                script=scripts[k],
                name=f"schedule {i}",
                cron_expression=expr,
                timezone=tz,
                next_run_at=next_run,
                fire_at=next_run,  # no jitter: bulk_create skips Schedule.save()
                vault_keys=["PORTAL_PASSWORD"],
                idempotency_window_minutes=1,
                concurrency_limit=2,
            )
        )
        if len(rows) == 5000:
            Schedule.objects.bulk_create(rows)
            rows = []
    Schedule.objects.bulk_create(rows)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    return agents


def idle_ticks(now, rounds=20):
    times = []
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            engine.run_tick(now=now, use_executor_lock=True)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(q.captured_queries)


class Evaluators:
    """Evaluator processes started before the minute, each with its database connection open,
    as production's are (Celery workers, connections kept for CONN_MAX_AGE; the one-evaluator
    figure is measured in this warm process too). `run` sends each the tick's instant and times
    until all have answered: every job written and its message sent. Forking, connecting and
    tearing down a process are not part of a tick (they were ~0.05 s of the figure when a pool
    was forked for each run: 1.63 s against 1.58 s, alternated)."""

    def __init__(self, processes: int) -> None:
        import multiprocessing

        connection.close()  # nothing of the parent's session crosses the fork
        ctx = multiprocessing.get_context("fork")
        self.pipes, self.procs = [], []
        for _ in range(processes):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_evaluator, args=(theirs,), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)
        for pipe in self.pipes:
            pipe.recv()  # connected

    def run(self, tick_now, due_ids) -> float:
        t0 = time.perf_counter()
        for pipe in self.pipes:
            pipe.send(tick_now.isoformat())
        counts = [pipe.recv() for pipe in self.pipes]
        elapsed = time.perf_counter() - t0
        assert sum(counts) == len(due_ids) == Job.objects.count(), (counts, len(due_ids))
        return elapsed

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for proc in self.procs:
            proc.join(timeout=30)


def _evaluator(pipe) -> None:
    """An evaluator process: connect, then evaluate each instant it is sent (None: stop)."""
    from datetime import datetime

    connection.ensure_connection()
    pipe.send("ready")
    while (tick_now_iso := pipe.recv()) is not None:
        report = engine.run_tick(now=datetime.fromisoformat(tick_now_iso), use_executor_lock=False)
        if report.errors:
            print("  evaluator errors:", {e.code: e.message for e in report.errors[:3]}, flush=True)
        pipe.send(len(report.triggered))


def peak_memory(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024 / 1024


# --- django-celery-beat on the same entries -------------------------------------------------

# Celery's crontab has neither "L" nor "#": the nearest expressions of the same shape.
DCB_EXPRESSIONS = {"0 23 L * *": "0 23 28-31 * *", "0 9 * * MON#1": "0 9 1-7 * MON"}


def dcb_populate(now, due_ids: set) -> None:
    """One PeriodicTask per schedule, on a CrontabSchedule of its expression and timezone, last
    run an hour ahead (none comes due during the measurement, as the product's not-due rows
    don't); the due ones get an every-minute crontab in their timezone (dcb_measure then makes
    them due this minute, as the product's due rows are)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

    rows = list(Schedule.objects.values_list("id", "cron_expression", "timezone"))
    crontabs: dict[tuple[str, str], CrontabSchedule] = {}

    def crontab(expr: str, tz: str) -> CrontabSchedule:
        if (expr, tz) not in crontabs:
            minute, hour, dom, month, dow = DCB_EXPRESSIONS.get(expr, expr).split()
            crontabs[(expr, tz)] = CrontabSchedule.objects.create(
                minute=minute,
                hour=hour,
                day_of_month=dom,
                month_of_year=month,
                day_of_week=dow,
                timezone=tz,
            )
        return crontabs[(expr, tz)]

    tasks = []
    for i, (pk, expr, tz) in enumerate(rows):
        due = pk in due_ids
        tasks.append(
            PeriodicTask(
                name=f"schedule {pk}",
                task="bench.dcb_noop",
                crontab=crontab("* * * * *" if due else expr, tz),
                args=json.dumps([i]),
                queue=DCB_QUEUE,
                last_run_at=now + timedelta(hours=1),
                enabled=True,
            )
        )
        if len(tasks) == 5000:
            PeriodicTask.objects.bulk_create(tasks)
            tasks = []
    PeriodicTask.objects.bulk_create(tasks)
    PeriodicTasks.update_changed()
    with connection.cursor() as c:
        c.execute("ANALYZE")


def dcb_scheduler():
    from django_celery_beat.schedulers import DatabaseScheduler

    from config.celery import app

    t0 = time.perf_counter()
    scheduler = DatabaseScheduler(app=app)  # reads the whole schedule (setup_schedule)
    return scheduler, time.perf_counter() - t0


def dcb_sent(r) -> int:
    """Distinct entries whose message is on the bench queue (an entry may come due again)."""
    return len(
        {
            json.loads(base64.b64decode(json.loads(m)["body"]))[0][0]
            for m in r.lrange(DCB_QUEUE, 0, -1)
        }
    )


def dcb_measure(due_ids: set, r) -> dict:
    from django_celery_beat.models import PeriodicTask, PeriodicTasks

    r.delete(DCB_QUEUE)
    scheduler, startup = dcb_scheduler()
    say("django-celery-beat: startup (scheduler built, schedule read)", f"{startup:.2f} s")
    idle = []
    for _ in range(5):
        t0 = time.perf_counter()
        scheduler.tick()
        idle.append((time.perf_counter() - t0) * 1000)
    idle_ms = statistics.median(idle)
    say("django-celery-beat: idle tick (median of 5)", f"{idle_ms:.1f} ms")
    r.delete(DCB_QUEUE)
    # Now the due entries: last run two minutes ago on an every-minute crontab.
    PeriodicTask.objects.filter(name__in=[f"schedule {pk}" for pk in due_ids]).update(
        last_run_at=timezone.now() - timedelta(minutes=2)
    )
    PeriodicTasks.update_changed()
    scheduler, _ = dcb_scheduler()
    # beat's own loop: tick() sends what is due (one entry a call) and says how long to sleep.
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < DCB_SECONDS:
        scheduler.tick()
        if r.llen(DCB_QUEUE) >= len(due_ids) and dcb_sent(r) >= len(due_ids):
            break
    elapsed = time.perf_counter() - t0
    sent = dcb_sent(r)
    say(
        f"django-celery-beat: due entries sent in {elapsed:.0f} s (cap {DCB_SECONDS:g} s)",
        f"{sent:,} of {len(due_ids):,} ({sent / elapsed:.2f}/s)",
    )
    return {
        "dcbStartupSeconds": round(startup, 2),
        "dcbIdleTickMs": round(idle_ms, 1),
        "dcbSent": sent,
        "dcbSentPerSecond": round(sent / elapsed, 3),
    }


def main() -> None:
    settings.DEBUG = False
    r = redis.Redis.from_url(settings.REDIS_URL)
    db_settings = durability(DURABLE)
    real_now = timezone.now()
    due_at = (real_now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    before = due_at - timedelta(seconds=30)
    print(
        f"bench_tick: {N:,} schedules ({DUE:,} due), {ORGS} organizations, "
        f"{len(TIMEZONES)} timezones, {os.cpu_count()} CPUs; PostgreSQL fsync="
        f"{db_settings['fsync']}, synchronous_commit={db_settings['synchronous_commit']}, "
        f"shared_buffers={db_settings['shared_buffers']}",
        flush=True,
    )

    wipe()
    populate(before, 1000, 0, due_at)
    small_med, small_p95, small_q = idle_ticks(before)
    wipe()
    t0 = time.perf_counter()
    agents = populate(before, N, DUE, due_at)
    due_ids = list(Schedule.objects.filter(next_run_at=due_at).values_list("id", flat=True))
    say("populate", f"{time.perf_counter() - t0:.1f} s")
    med, p95, queries = idle_ticks(before)
    say(
        "idle tick, 1,000 schedules: median / p95 / queries",
        f"{small_med:.2f} ms / {small_p95:.2f} ms / {small_q}",
    )
    say(
        f"idle tick, {N:,} schedules: median / p95 / queries",
        f"{med:.2f} ms / {p95:.2f} ms / {queries}",
    )

    def rearm(at):
        Job.objects.all().delete()
        ScheduleEvent.objects.all().delete()
        for a in agents:
            r.delete(f"agent.{a.id}")
        Schedule.objects.filter(id__in=due_ids).update(next_run_at=at, fire_at=at)
        Agent.objects.update(last_heartbeat_at=at)
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE agents_job, schedules_scheduleevent, schedules_schedule")

    # Lateness: when each job's message actually left, relative to its scheduled minute (the
    # tick's start: beat fires on the minute; its own delay is not the engine's).
    sent_at: list[float] = []
    original = engine.jobs_send

    def timed_send(*, jobs):
        result = original(jobs=jobs)
        sent_at.extend([time.time()] * len(result.published))
        return result

    tick_now = due_at + timedelta(seconds=1)
    runs = []
    report = None
    evaluators = Evaluators(2)
    for run in range(RUNS):
        rearm(due_at)
        engine.jobs_send = timed_send if run == 0 else original
        started = time.time()
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            report = engine.run_tick(now=tick_now, use_executor_lock=True)
            one = time.perf_counter() - t0
        engine.jobs_send = original
        jobs, messages = Job.objects.count(), sum(r.llen(f"agent.{a.id}") for a in agents)
        assert jobs == messages == len(due_ids) == len(report.triggered), (jobs, messages)
        if run == 0:
            lateness = sorted(t - started for t in sent_at)
            say(
                f"busy tick: {DUE:,} due -> jobs written / messages sent",
                f"{jobs:,} / {messages:,}",
            )
            say("busy tick queries", f"{len(q.captured_queries)}")
            by_kind: dict[str, list[float]] = {}
            for query in q.captured_queries:
                kind = " ".join(query["sql"].split()[:4])[:60]
                by_kind.setdefault(kind, []).append(float(query["time"]))
            for kind, times in sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))[:6]:
                say(f"  db: {kind}", f"{sum(times):.2f} s in {len(times)}")
        rearm(due_at)
        two = evaluators.run(tick_now, due_ids)
        runs.append((one, two))
        say(f"run {run + 1}: one evaluator / two evaluator processes", f"{one:.2f} s / {two:.2f} s")
    evaluators.close()
    ones, twos = sorted(o for o, _ in runs), sorted(t for _, t in runs)
    say(
        f"one evaluator: median (min-max of {RUNS})",
        f"{statistics.median(ones):.2f} s ({ones[0]:.2f}-{ones[-1]:.2f})",
    )
    say(
        f"two evaluators: median (min-max of {RUNS})",
        f"{statistics.median(twos):.2f} s ({twos[0]:.2f}-{twos[-1]:.2f})",
    )
    p99 = lateness[max(0, int(len(lateness) * 0.99) - 1)] if lateness else 0.0
    if lateness:
        say(
            "lateness (sent - scheduled), run 1: p50 / p99 / max",
            f"{lateness[len(lateness) // 2]:.2f} s / {p99:.2f} s / {lateness[-1]:.2f} s",
        )

    rearm(due_at)
    busy_peak = peak_memory(lambda: engine.run_tick(now=tick_now, use_executor_lock=True))
    say("busy tick peak Python memory (tracemalloc)", f"{busy_peak:.1f} MiB")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        rearm(due_at)
        profile = cProfile.Profile()
        profile.runcall(engine.run_tick, now=tick_now)
        pstats.Stats(profile).sort_stats(
            os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        ).print_stats(40)

    one = statistics.median(ones)
    out = {
        "schedules": N,
        "due": DUE,
        "idleTickMs": round(med, 2),
        "idleTickQueries": queries,
        "oneEvaluatorSeconds": round(one, 2),
        "twoEvaluatorsSeconds": round(statistics.median(twos), 2),
        "latenessP99Seconds": round(p99, 2),
        "peakTickMiB": round(busy_peak, 1),
        "dcbStartupSeconds": None,
        "dcbIdleTickMs": None,
        "dcbSent": None,
        "dcbSentPerSecond": None,
        "ratio": None,
    }
    if DCB:
        Job.objects.all().delete()
        ScheduleEvent.objects.all().delete()
        dcb_populate(timezone.now(), set(due_ids))
        out.update(dcb_measure(set(due_ids), r))
        if out["dcbSentPerSecond"]:
            out["ratio"] = round((DUE / one) / out["dcbSentPerSecond"])
            say(
                "ratio: dispatches per second, this product / django-celery-beat",
                f"{out['ratio']:,}",
            )
        r.delete(DCB_QUEUE)
    out.update(
        runs=[[round(o, 2), round(t, 2)] for o, t in runs],
        fsync=db_settings["fsync"],
        synchronousCommit=db_settings["synchronous_commit"],
        sharedBuffers=db_settings["shared_buffers"],
        cpus=os.cpu_count(),
    )
    wipe()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
