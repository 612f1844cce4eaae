"""The API under load (issue 16), on real PostgreSQL and Redis, served the way production serves
it. Prints figures; asserts nothing about time (timing claims belong here, never in a test).

    make bench BENCH=benchmarks/bench_api.py             # 10,000 schedules, 50 and 200 clients
    BENCH_SCHEDULES=2000 BENCH_API_SECONDS=10 make bench BENCH=benchmarks/bench_api.py

It writes to the database named by DATABASE_URL (`make bench` gives it a throwaway one) and
starts its own web server: the Procfile's `web` line as written (gunicorn, config/gunicorn.py,
its worker count and options), bound to a free port on 127.0.0.1, with DEBUG off. Every request
goes to 127.0.0.1 with a DRF token (`Authorization: Token …`, as a script calls the API) and
`Accept-Encoding: gzip`, as browsers and HTTP libraries send it.

What it does:
1. seeds BENCH_SCHEDULES schedules (default 10,000) over BENCH_API_ORGS organizations (default
   10), each with BENCH_API_HISTORY finished jobs and as many events (default 3), one online
   agent and one script per organization;
2. one client, sequential: per endpoint, BENCH_API_REQUESTS requests (default 50) — median and
   p95 service time, response bytes on the wire (and unzipped), and the queries one request
   makes (counted in-process with Django's test client, the same views);
3. a closed-loop load: C keep-alive clients (threads of this process, each with its own
   http.client connection: a client sends its next request when the previous answer is read)
   for BENCH_API_SECONDS (default 60) over a mix of the same endpoints, at each of
   BENCH_API_CLIENTS (default "50,200"): requests/s, errors, 5xx, p50/p99. The generator shares
   the 2 cores with the server; its threads spend their time blocked on sockets, and the GIL
   it holds between requests is part of what the figures include;
4. a tick beside the load: another process (multiprocessing, spawn) re-arms BENCH_DUE schedules
   (default 10,000, at most all) due one minute in the past, deletes that minute's jobs and
   events and the agents' broker queues, marks the agents alive, and times
   `schedules.engine.run_tick(now=…, use_executor_lock=True)` — BENCH_API_TICKS_ALONE times alone
   (default 2), then over and over while the largest client count loads the API (the load lasts
   at least BENCH_API_SECONDS and until the last tick started during it has finished).

BENCH_API_PROFILE=list (or detail, preview, jobs, events, agents, dryRun, health; several with
commas) prints a cProfile of that endpoint served in-process, to show where its time goes.

The JSON line at the end (times in ms unless named …S; medians unless named p95/p99):
- schedules, jobs, events, organizations: the seeded rows; workers, workerClass, threads: the
  server as the Procfile and config/gunicorn.py start it;
- listMs, detailMs, previewMs, jobsMs, eventsMs, agentsMs, dryRunMs, healthMs: one client's
  median service time per endpoint; each also as …P95Ms, …Bytes (on the wire) and …Queries;
- c<C>Rps, c<C>P50Ms, c<C>P99Ms, c<C>Errors, c<C>Http5xx, c<C>Requests: the load at C clients
  (Errors counts failed connections and every non-2xx answer; Http5xx is the server errors
  among them; P50/P99 are of the 2xx answers);
- c<C>TickRps, c<C>TickP50Ms, c<C>TickP99Ms, c<C>TickErrors, c<C>TickHttp5xx: the same load, the
  largest C, with the tick beside it;
- tickDue, tickAloneS, tickUnderLoadS (medians of each tick's wall time), tickRatio (under load
  ÷ alone), ticksUnderLoad, tickDispatched (jobs written by the last tick).
"""

from __future__ import annotations

import cProfile
import gzip
import http.client
import json
import logging
import multiprocessing
import os
import pstats
import random
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The server runs with DEBUG off, as in production, but on plain http on loopback: no https
# redirect, and the hosts the benchmark calls it by (the in-process test client's included).
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from agents.models import Agent, Job, JobStatus, Script, ScriptVersion, Trigger  # noqa: E402
from billing.models import Membership, Organization, Role  # noqa: E402
from schedules import cron, engine  # noqa: E402
from schedules.models import EventKind, Schedule, ScheduleEvent  # noqa: E402

N = int(os.environ.get("BENCH_SCHEDULES", 10_000))
DUE = min(N, int(os.environ.get("BENCH_DUE", 10_000)))
ORGS = int(os.environ.get("BENCH_API_ORGS", 10))
HISTORY = int(os.environ.get("BENCH_API_HISTORY", 3))
REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", 50))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", 60))
CLIENTS = [int(c) for c in os.environ.get("BENCH_API_CLIENTS", "50,200").split(",") if c]
TICKS_ALONE = int(os.environ.get("BENCH_API_TICKS_ALONE", 2))
PROFILE = os.environ.get("BENCH_API_PROFILE", "")

EXPRESSIONS = [  # bench_tick.py's mix: business hours, nightly, month-end, intervals
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
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
]


def say(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --- Data ----------------------------------------------------------------------------------


def wipe() -> None:
    tables = ", ".join(
        m._meta.db_table for m in (ScheduleEvent, Job, Schedule, Script, Agent, Organization)
    )
    with connection.cursor() as c:
        c.execute(f"TRUNCATE {tables} CASCADE")


@dataclass
class Seeded:
    token: str
    schedule_ids: list[str]
    due_ids: list[str]
    agent_ids: list[str]


def populate(now: datetime) -> Seeded:
    rng = random.Random(16)
    orgs = Organization.objects.bulk_create(
        Organization(
            name=f"Org {i}", slug=f"bench-{i}", billing_status="active", monthly_run_quota=10**7
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
    # bulk_create skips what Script.save() does: each script's current version (the code its
    # jobs reference) is written here.
    codes = {
        code.script_id: code
        for code in ScriptVersion.objects.bulk_create(
            ScriptVersion(
                organization_id=s.organization_id,
                script=s,
                version=s.version,
                runtime=s.runtime,
                source=s.source,
            )
            for s in scripts
        )
    }
    schedules: list[Schedule] = []
    for i in range(N):
        k = i % ORGS
        expr, tz = rng.choice(EXPRESSIONS), rng.choice(TIMEZONES)
        next_run = cron.next_after(expr, tz, now)
        schedules.append(
            Schedule(
                organization=orgs[k],
                agent=agents[k],
                script=scripts[k],
                name=f"schedule {i:05d}",
                cron_expression=expr,
                timezone=tz,
                next_run_at=next_run,
                fire_at=next_run,  # no jitter: bulk_create skips Schedule.save()
                variables={"region": "us-east", "batch": i % 7},
                concurrency_limit=2,
                last_run_at=now - timedelta(hours=1),
                last_run_status="succeeded",
            )
        )
    Schedule.objects.bulk_create(schedules, batch_size=2000)
    jobs: list[Job] = []
    events: list[ScheduleEvent] = []
    for s in schedules:
        for h in range(HISTORY):
            at = now - timedelta(days=h + 1)
            job = Job(
                organization_id=s.organization_id,
                schedule=s,
                script_id=s.script_id,
                code=codes[s.script_id],
                script_version=codes[s.script_id].version,
                agent_id=s.agent_id,
                trigger=Trigger.SCHEDULED,
                scheduled_for=at,
                idempotency_key=f"bench-api-{s.id}-{h}",
                status=JobStatus.SUCCEEDED,
                created_at=at,
                queued_at=at,
                started_at=at,
                finished_at=at + timedelta(seconds=42),
                exit_code=0,
                log="ok\n",
            )
            jobs.append(job)
            events.append(
                ScheduleEvent(
                    organization_id=s.organization_id,
                    schedule=s,
                    kind=EventKind.TRIGGERED,
                    scheduled_for=at,
                    job=job,
                    trigger="scheduled",
                    created_at=at,
                )
            )
    Job.objects.bulk_create(jobs, batch_size=5000)
    ScheduleEvent.objects.bulk_create(events, batch_size=5000)
    # The caller: an admin of the first organization, with a DRF token.
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="bench-api", password=None)
    Membership.objects.create(user=user, organization=orgs[0], role=Role.ADMIN)
    token = Token.objects.create(user=user).key
    with connection.cursor() as c:
        c.execute("ANALYZE")
    return Seeded(
        token=token,
        schedule_ids=[str(s.id) for s in schedules if s.organization_id == orgs[0].id],
        due_ids=[str(s.id) for s in schedules[:DUE]],
        agent_ids=[str(a.id) for a in agents],
    )


# --- Endpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    weight: int  # share of the load mix
    method: str = "GET"

    def request(self, rng: random.Random, ids: list[str]) -> tuple[str, str, bytes | None]:
        """(method, path, body) of one request."""
        pick = rng.choice(ids)
        if self.name == "list":
            page = rng.randint(1, max(1, min(5, len(ids) // 50)))
            return "GET", f"/api/schedules/?pageSize=50&page={page}", None
        if self.name == "detail":
            return "GET", f"/api/schedules/{pick}/", None
        if self.name == "preview":
            expr = rng.choice(EXPRESSIONS).replace(" ", "%20").replace("#", "%23")
            tz = rng.choice(TIMEZONES)
            return "GET", f"/api/schedules/preview?cron={expr}&timezone={tz}&count=10", None
        if self.name == "jobs":
            return "GET", "/api/jobs/?pageSize=50", None
        if self.name == "events":
            return "GET", f"/api/schedules/{pick}/events/?pageSize=50", None
        if self.name == "agents":
            return "GET", "/api/agents/", None
        if self.name == "dryRun":
            return "POST", "/api/schedules/execute", json.dumps({"dryRun": True}).encode()
        if self.name == "health":
            return "GET", "/api/health", None
        raise ValueError(self.name)


# The staff frontend's mix, roughly: lists and detail pages first, previews while editing.
ENDPOINTS = [
    Endpoint("list", 4),
    Endpoint("detail", 4),
    Endpoint("preview", 2),
    Endpoint("jobs", 3),
    Endpoint("events", 2),
    Endpoint("agents", 1),
    Endpoint("dryRun", 1),
    Endpoint("health", 1),
]


def headers(token: str, body: bytes | None) -> dict[str, str]:
    h = {"Authorization": f"Token {token}", "Accept-Encoding": "gzip"}
    if body is not None:
        h["Content-Type"] = "application/json"
    return h


# --- The server -----------------------------------------------------------------------------


def procfile_web_command(port: int) -> list[str]:
    """The Procfile's web line, its ${VAR:-default}s expanded from the environment, bound to
    127.0.0.1:port instead of 0.0.0.0."""
    line = next(
        raw.split(":", 1)[1]
        for raw in (ROOT / "Procfile").read_text().splitlines()
        if raw.startswith("web:")
    )

    def expand(m: re.Match) -> str:
        return os.environ.get(m.group(1)) or m.group(2)

    argv = shlex.split(re.sub(r"\$\{(\w+):-([^}]*)\}", expand, line))
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg in ("--bind", "-b"):
            next(args, None)
            out += [arg, f"127.0.0.1:{port}"]
        elif arg.startswith("--bind="):
            out.append(f"--bind=127.0.0.1:{port}")
        else:
            out.append(arg)
    return out


def option(argv: list[str], name: str, default: str) -> str:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/health")
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


# --- Clients --------------------------------------------------------------------------------


@dataclass
class Sample:
    ms: float
    status: int  # 0: the request failed (connection error, timeout)
    wire: int = 0
    body: int = 0


def one_request(
    conn: http.client.HTTPConnection, token: str, method: str, path: str, body: bytes | None
) -> Sample:
    t0 = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers(token, body))
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException):
        conn.close()  # http.client reconnects on the next request
        return Sample((time.perf_counter() - t0) * 1000, 0)
    ms = (time.perf_counter() - t0) * 1000
    return Sample(ms, response.status, len(data), len(data))


def sequential(port: int, seeded: Seeded) -> dict[str, dict]:
    rng = random.Random(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    figures: dict[str, dict] = {}
    for ep in ENDPOINTS:
        samples = []
        for _ in range(REQUESTS + 3):  # three to warm the workers' caches and connections
            method, path, body = ep.request(rng, seeded.schedule_ids)
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers(seeded.token, body))
            response = conn.getresponse()
            data = response.read()
            ms = (time.perf_counter() - t0) * 1000
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
            unzipped = (
                gzip.decompress(data) if response.getheader("Content-Encoding") == "gzip" else data
            )
            json.loads(unzipped)
            samples.append(Sample(ms, response.status, len(data), len(unzipped)))
        samples = samples[3:]
        figures[ep.name] = {
            "ms": statistics.median(s.ms for s in samples),
            "p95": pct([s.ms for s in samples], 0.95),
            "wire": int(statistics.median(s.wire for s in samples)),
            "body": int(statistics.median(s.body for s in samples)),
        }
    conn.close()
    return figures


def queries_per_request(seeded: Seeded) -> dict[str, int]:
    """Each endpoint's queries, served in-process by the same views (Django's test client)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {seeded.token}")
    rng = random.Random(2)
    counts = {}
    for ep in ENDPOINTS:
        method, path, body = ep.request(rng, seeded.schedule_ids)
        with CaptureQueriesContext(connection) as q:
            if method == "POST":
                client.post(path, data=body, content_type="application/json")
            else:
                client.get(path)
        counts[ep.name] = len(q.captured_queries)
    return counts


def profile_endpoint(seeded: Seeded, name: str) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Token {seeded.token}")
    ep = next(e for e in ENDPOINTS if e.name == name)
    rng = random.Random(3)
    calls = [ep.request(rng, seeded.schedule_ids) for _ in range(20)]
    profile = cProfile.Profile()
    profile.enable()
    for method, path, body in calls:
        if method == "POST":
            client.post(path, data=body, content_type="application/json")
        else:
            client.get(path)
    profile.disable()
    print(f"== profile: {name}, 20 requests in-process")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(35)


@dataclass
class LoadResult:
    clients: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)

    def figures(self) -> dict:
        ok = [s.ms for s in self.samples if 200 <= s.status < 300]
        return {
            "Rps": len(self.samples) / self.seconds,
            "P50Ms": pct(ok, 0.50),
            "P99Ms": pct(ok, 0.99),
            "Errors": sum(1 for s in self.samples if not 200 <= s.status < 300),
            "Http5xx": sum(1 for s in self.samples if s.status >= 500),
            "Requests": len(self.samples),
        }


def load(
    port: int, seeded: Seeded, clients: int, seconds: float, keep_going=lambda: False
) -> LoadResult:
    """A closed loop: `clients` threads, each sending its next request once the previous answer
    is read, for `seconds` (and for as long as keep_going() says)."""
    weighted = [ep for ep in ENDPOINTS for _ in range(ep.weight)]
    start = time.monotonic()
    stop_at = start + seconds
    per_thread: list[list[Sample]] = [[] for _ in range(clients)]
    begin = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        rng = random.Random(100 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        out = per_thread[i]
        begin.wait()
        while time.monotonic() < stop_at or keep_going():
            method, path, body = rng.choice(weighted).request(rng, seeded.schedule_ids)
            out.append(one_request(conn, seeded.token, method, path, body))
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    begin.wait()
    start = time.monotonic()
    stop_at = start + seconds
    for t in threads:
        t.join()
    result = LoadResult(clients, time.monotonic() - start)
    for samples in per_thread:
        result.samples.extend(samples)
    return result


# --- The tick beside it (its own process) --------------------------------------------------


def tick_loop(due_ids, agent_ids, due_at_iso, alone, started, stop, results) -> None:
    """Runs in a spawned process: `alone` ticks, then (after `started` is set) ticks until
    `stop` is set. Puts ("alone"|"loaded", seconds, triggered) per tick, then ("done", 0, 0)."""
    logging.disable(logging.CRITICAL)
    due_at = datetime.fromisoformat(due_at_iso)
    r = redis.Redis.from_url(settings.REDIS_URL)

    def one(kind: str) -> None:
        now = timezone.now()
        Job.objects.filter(schedule_id__in=due_ids, scheduled_for=due_at).delete()
        ScheduleEvent.objects.filter(schedule_id__in=due_ids, scheduled_for=due_at).delete()
        for agent_id in agent_ids:
            r.delete(f"agent.{agent_id}")
        Schedule.objects.filter(id__in=due_ids).update(next_run_at=due_at, fire_at=due_at)
        Agent.objects.filter(id__in=agent_ids).update(last_heartbeat_at=now)
        t0 = time.perf_counter()
        report = engine.run_tick(now=now, use_executor_lock=True)
        results.put((kind, time.perf_counter() - t0, len(report.triggered)))

    for _ in range(alone):
        one("alone")
    results.put(("ready", 0.0, 0))
    started.wait()
    while not stop.is_set():
        one("loaded")
    results.put(("done", 0.0, 0))


# --- Main -----------------------------------------------------------------------------------


def main() -> None:
    logging.disable(logging.CRITICAL)
    settings.DEBUG = False
    now = timezone.now()
    print(
        f"bench_api: {N:,} schedules over {ORGS} organizations, {HISTORY} jobs and events each; "
        f"clients {CLIENTS}, {SECONDS:g} s each; {os.cpu_count()} CPUs"
    )
    wipe()
    t0 = time.perf_counter()
    seeded = populate(now)
    say("populate", f"{time.perf_counter() - t0:.1f} s")
    queries = queries_per_request(seeded)
    for name in filter(None, PROFILE.split(",")):
        profile_endpoint(seeded, name)
    connection.close()

    port = free_port()
    argv = procfile_web_command(port)
    workers = option(argv, "--workers", "1")
    worker_class = option(argv, "--worker-class", option(argv, "-k", "sync"))
    threads = option(argv, "--threads", "1")
    say("server (the Procfile's web line)", " ".join(argv))
    log = tempfile.NamedTemporaryFile(prefix="bench-api-gunicorn-", suffix=".log", delete=False)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / argv[0]), *argv[1:]],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    out: dict = {
        "schedules": N,
        "organizations": ORGS,
        "jobs": N * HISTORY,
        "events": N * HISTORY,
        "workers": int(workers),
        "workerClass": worker_class,
        "threads": int(threads),
    }
    ctx = multiprocessing.get_context("spawn")
    ticker = None
    try:
        wait_ready(port, server)
        print("one client, sequential:")
        say("endpoint: median / p95 / bytes on the wire (unzipped) / queries", "")
        single = sequential(port, seeded)
        for name, f in single.items():
            say(
                f"  {name}",
                f"{f['ms']:.1f} ms / {f['p95']:.1f} ms / {f['wire']:,} B ({f['body']:,} B) "
                f"/ {queries[name]}",
            )
            out[f"{name}Ms"] = round(f["ms"], 2)
            out[f"{name}P95Ms"] = round(f["p95"], 2)
            out[f"{name}Bytes"] = f["wire"]
            out[f"{name}Queries"] = queries[name]

        print(f"closed-loop load, {SECONDS:g} s each (keep-alive clients as threads):")
        for c in CLIENTS:
            f = load(port, seeded, c, SECONDS).figures()
            say(
                f"  {c} clients: req/s, p50 / p99, errors, 5xx",
                f"{f['Rps']:.0f}, {f['P50Ms']:.0f} / {f['P99Ms']:.0f} ms, "
                f"{f['Errors']}, {f['Http5xx']}",
            )
            out |= {f"c{c}{k}": round(v, 1) if isinstance(v, float) else v for k, v in f.items()}

        if DUE and CLIENTS:
            c = max(CLIENTS)
            due_at = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
            results = ctx.Queue()
            started, stop = ctx.Event(), ctx.Event()
            ticker = ctx.Process(
                target=tick_loop,
                args=(
                    seeded.due_ids,
                    seeded.agent_ids,
                    due_at.isoformat(),
                    TICKS_ALONE,
                    started,
                    stop,
                    results,
                ),
            )
            ticker.start()
            alone: list[float] = []
            dispatched = 0
            while True:
                kind, seconds, triggered = results.get(timeout=600)
                if kind == "ready":
                    break
                alone.append(seconds)
                dispatched = triggered
            print(f"the tick beside the load ({DUE:,} due, one evaluator, its own process):")
            say("  tick alone: wall time per tick", ", ".join(f"{s:.2f} s" for s in alone))
            loaded: list[float] = []
            done = threading.Event()

            def collect() -> None:
                nonlocal dispatched
                while True:
                    kind, seconds, triggered = results.get(timeout=600)
                    if kind == "done":
                        done.set()
                        return
                    loaded.append(seconds)
                    dispatched = triggered

            collector = threading.Thread(target=collect, daemon=True)
            collector.start()
            started.set()
            timer = threading.Timer(SECONDS, stop.set)
            timer.start()
            f = load(port, seeded, c, SECONDS, keep_going=lambda: not done.is_set()).figures()
            collector.join()
            ticker.join(timeout=60)
            say("  tick under load: wall time per tick", ", ".join(f"{s:.2f} s" for s in loaded))
            say(
                f"  {c} clients beside the tick: req/s, p50 / p99, errors, 5xx",
                f"{f['Rps']:.0f}, {f['P50Ms']:.0f} / {f['P99Ms']:.0f} ms, "
                f"{f['Errors']}, {f['Http5xx']}",
            )
            out |= {
                f"c{c}Tick{k}": round(v, 1) if isinstance(v, float) else v for k, v in f.items()
            }
            alone_s = statistics.median(alone) if alone else 0.0
            loaded_s = statistics.median(loaded) if loaded else 0.0
            ratio = loaded_s / alone_s if alone_s else 0.0
            say(
                "  tick: alone / under load (medians), ratio",
                f"{alone_s:.2f} s / {loaded_s:.2f} s, {ratio:.2f}",
            )
            out |= {
                "tickDue": DUE,
                "tickAloneS": round(alone_s, 2),
                "tickUnderLoadS": round(loaded_s, 2),
                "tickRatio": round(ratio, 2),
                "ticksUnderLoad": len(loaded),
                "tickDispatched": dispatched,
            }
    finally:
        if ticker is not None and ticker.is_alive():
            ticker.terminate()
            ticker.join(timeout=10)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        errors = Path(log.name).read_text(errors="replace").strip().splitlines()
        if errors:
            print(f"  gunicorn's log (last of {len(errors)} lines):")
            for line in errors[-8:]:
                print(f"    {line[:300]}")
        os.unlink(log.name)
    wipe()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
