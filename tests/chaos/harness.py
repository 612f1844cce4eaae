"""The fault suite's machinery: throwaway servers, the control plane as real processes, agent
runtimes with clean environments, the collector that times every bot run on one clock, the
beat the suite plays, and the judgement of a fault's jobs. The faults themselves are in
faults.py; `python -m tests.chaos` (make chaos) runs them (see __init__.py).

Everything runs on 127.0.0.1. Every process started here is stopped in `Harness.close()`, which
the driver calls in a `finally`; every wait is bounded in time.
"""

from __future__ import annotations

import json
import math
import os
import pwd
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tests.bin_services import services

if TYPE_CHECKING:  # models are imported once the harness has set Django up
    from agents.models import Agent

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable  # the project's virtualenv (make chaos runs .venv/bin/python)
STARTED = time.monotonic()

# Fixed margins, not scaled: process start-up, HTTP round trips, a PostgreSQL restart.
SLACK_SECONDS = 30.0
READY_SECONDS = 90.0
STOP_GRACE_SECONDS = 15.0
DB_RETRY_SECONDS = 60.0
# How often a bot script reports that it is still running (the resolution of the overlap check:
# a killed run's real end is at most this long after its last record).
BOT_BEAT_SECONDS = 0.25
# Shared by every agent's scripts when the suite runs as root (the runtime would otherwise
# create one OS user per agent id).
SCRIPT_USER = "mimic-chaos-bots"

FINAL = ("succeeded", "failed", "timed_out", "canceled", "lost")


class ChaosError(Exception):
    """The suite could not do what it set out to (not a verdict on a fault)."""


def say(message: str) -> None:
    print(f"chaos [{time.monotonic() - STARTED:7.1f}s] {message}", flush=True)


def wait_until(what: str, seconds: float, probe, *, interval: float = 0.2):
    """Poll `probe()` until it returns something truthy, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ChaosError(f"timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------------------ timing


@dataclass(frozen=True)
class Timing:
    """Every duration of the suite, from one factor (CHAOS_SCALE; 1.0 = the durations of issue
    11: 2-minute jobs, a 30 s pickup timeout, the watchdog stopped for 5 minutes, the control
    plane's production thresholds). Clocks are never scaled: a skewed host is 5 minutes off."""

    scale: float

    def seconds(self, base: float, floor: float = 1.0) -> float:
        return max(floor, base * self.scale)

    # The control plane's thresholds for the run (settings, told to runtimes in heartbeats).
    @property
    def heartbeat(self) -> float:  # AGENT_HEARTBEAT_SECONDS
        return self.seconds(15, 0.5)

    @property
    def online(self) -> int:  # AGENT_ONLINE_SECONDS: the lost threshold
        return max(5, round(60 * self.scale))

    @property
    def kill_grace(self) -> float:  # JOB_KILL_GRACE_SECONDS
        return self.seconds(10, 0.5)

    @property
    def fence(self) -> float:  # what the agent API tells runtimes (agent_views.fence_after_seconds)
        return max(1.0, self.online - self.heartbeat - self.kill_grace)

    @property
    def pickup(self) -> int:  # JOB_PICKUP_TIMEOUT_SECONDS
        return max(3, round(30 * self.scale))

    @property
    def requeue(self) -> int:  # JOB_REQUEUE_AFTER_SECONDS
        return max(3, round(60 * self.scale))

    @property
    def deadline_grace(self) -> int:  # JOB_DEADLINE_GRACE_SECONDS
        return max(5, round(60 * self.scale))

    @property
    def budget(self) -> float:  # TICK_TIME_BUDGET_SECONDS
        return self.seconds(40, 2.0)

    @property
    def lease(self) -> int:  # EXECUTOR_LEASE_SECONDS (the settings want it above the budget)
        return max(math.ceil(self.budget) + 2, round(55 * self.scale))

    # What the suite plays: beat's watchdog entry (every 30 s) and the every-minute tick.
    @property
    def watchdog_period(self) -> float:
        return self.seconds(30, 1.0)

    @property
    def tick_period(self) -> float:
        return self.seconds(60, 2.0)

    def settings_env(self) -> dict[str, str]:
        return {
            "AGENT_HEARTBEAT_SECONDS": f"{self.heartbeat:g}",
            "AGENT_ONLINE_SECONDS": str(self.online),
            "JOB_KILL_GRACE_SECONDS": f"{self.kill_grace:g}",
            "JOB_PICKUP_TIMEOUT_SECONDS": str(self.pickup),
            "JOB_REQUEUE_AFTER_SECONDS": str(self.requeue),
            "JOB_DEADLINE_GRACE_SECONDS": str(self.deadline_grace),
            "TICK_TIME_BUDGET_SECONDS": f"{self.budget:g}",
            "EXECUTOR_LEASE_SECONDS": str(self.lease),
        }

    def describe(self) -> str:
        return (
            f"heartbeat {self.heartbeat:g}s, lost threshold {self.online}s, fence "
            f"{self.fence:g}s, kill grace {self.kill_grace:g}s, pickup timeout {self.pickup}s, "
            f"requeue after {self.requeue}s, watchdog every {self.watchdog_period:g}s, tick "
            f"every {self.tick_period:g}s, tick budget {self.budget:g}s / lease {self.lease}s"
        )


# ---------------------------------------------------------------------------------- collector


@dataclass
class Run:
    """One execution of a bot script, as the collector saw it (suite's monotonic clock)."""

    job: str
    run: str
    attempt: int
    start: float
    last: float
    ended: bool = False


class Collector:
    """A loopback HTTP endpoint the bot scripts POST `{"job", "attempt", "run", "event"}` to
    (`start`, then `beat` every BOT_BEAT_SECONDS, then `end`). Each record is timed on receipt
    with this process's monotonic clock: one clock for every run, whatever the clocks of the
    hosts and scripts say."""

    MAX_BODY = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — http.server's name
                received = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    if not 0 < length <= collector.MAX_BODY:
                        raise ValueError("size")
                    collector.record(received, json.loads(self.rfile.read(length)))
                except (ValueError, KeyError, TypeError):
                    self.send_response(400)
                else:
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        assert self.server is not None, "the collector is not started"
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def record(self, at: float, body: dict) -> None:
        job, run, event = str(body["job"]), str(body["run"]), str(body["event"])
        with self._lock:
            found = self._runs.get(run)
            if found is None:
                found = self._runs[run] = Run(job, run, int(body["attempt"]), at, at)
            found.start, found.last = min(found.start, at), max(found.last, at)
            if event == "end":
                found.ended = True

    def runs(self, job_ids) -> dict[str, list[Run]]:
        wanted = {str(j) for j in job_ids}
        out: dict[str, list[Run]] = {j: [] for j in wanted}
        with self._lock:
            for run in self._runs.values():
                if run.job in wanted:
                    out[run.job].append(Run(**run.__dict__))
        for runs in out.values():
            runs.sort(key=lambda r: r.start)
        return out

    def started(self, job_ids) -> int:
        """How many of these jobs have a run that has started."""
        return sum(1 for runs in self.runs(job_ids).values() if runs)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def overlapping_pairs(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs of one job whose [start, last record] intervals intersect."""
    return [
        (a, b)
        for i, a in enumerate(runs)
        for b in runs[i + 1 :]
        if b.start < a.last and a.start < b.last
    ]


# The bot every fault runs (standard library only: it may run with the system's python3 as the
# agent's unprivileged script user). `failAttempts`: exit 75 (transient) on those attempts.
BOT_SCRIPT = """\
import json, sys, time, urllib.request, uuid
payload = json.load(sys.stdin)
v, job = payload["variables"], payload["job"]
run = uuid.uuid4().hex
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def record(event):
    body = json.dumps({"job": job["id"], "attempt": job["attempt"], "run": run, "event": event})
    request = urllib.request.Request(
        v["collector"], data=body.encode(), headers={"Content-Type": "application/json"}
    )
    for _ in range(3):
        try:
            opener.open(request, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)


record("start")
print("bot: job", job["id"], "attempt", job["attempt"], "run", run, flush=True)
until = time.monotonic() + float(v["seconds"])
while True:
    left = until - time.monotonic()
    if left <= 0:
        break
    time.sleep(min(left, float(v["beat"])))
    record("beat")
record("end")
sys.exit(75 if job["attempt"] <= int(v.get("failAttempts", 0)) else 0)
"""


# ---------------------------------------------------------------------------------- processes


class Proc:
    """A long-running child in its own process group, its output in logs/<name>.log."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], logs: Path, *, stdio=False
    ) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self.started_wall = time.time()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE if stdio else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdio else out,
                stderr=out,
                text=stdio or None,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def kill9(self) -> None:
        """SIGKILL this process only (not its group): what `kill -9 <pid>` does."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop in {STOP_GRACE_SECONDS:g}s: killing it")
        self._signal_group(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            say(f"{self.name} (pid {self.proc.pid}) did not die")
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


class TickProcess(Proc):
    """tests/chaos/tick_process.py: a tick that pauses at a chosen point (see there)."""

    def __init__(self, harness: Harness, where: str, *, schedule_id=None) -> None:
        argv = [PYTHON, "-m", "tests.chaos.tick_process", where]
        if schedule_id is not None:
            argv.append(str(schedule_id))
        name = f"tick-{where}-{len(harness.procs)}"
        super().__init__(name, argv, harness.env, harness.logs, stdio=True)
        harness.procs.append(self)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None  # stdio=True
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # EOF

    def expect(self, prefix: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line and line.startswith(prefix):
                return line
            if line == "" or time.monotonic() > deadline:
                raise ChaosError(
                    f"{self.name}: no {prefix!r} line (exit {self.proc.poll()}):\n{self.tail()}"
                )

    def go(self) -> None:
        assert self.proc.stdin is not None  # stdio=True
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, seconds: float = 120) -> tuple[int, dict | None]:
        """Wait for the end: (exit code, the tick's report if it printed one)."""
        report = None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line.startswith("REPORT "):
                report = json.loads(line[len("REPORT ") :])
            if line == "":
                break
        try:
            code = self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise ChaosError(f"{self.name} did not end in {seconds:.0f}s") from None
        return code, report


class Runtime:
    """`python -m agents.runtime` for one agent, started as a bot machine would be: the four
    MIMIC_* variables (a fresh token), PATH, and optional host knobs — nothing else."""

    def __init__(self, harness: Harness, agent, name: str, *, clock_offset: float | None = None):
        from agents.controllers import runtime_environment
        from agents.services import agent_token_issue

        token = db(agent_token_issue, agent_id=agent.id)
        env = runtime_environment(agent, token)
        env["PATH"] = harness.env["PATH"]
        env["MIMIC_LOG_LEVEL"] = "INFO"
        env["MIMIC_WORK_DIR"] = str(harness.work_dir)
        if harness.script_user:
            env["AGENT_SCRIPT_USER"] = harness.script_user
        if clock_offset is not None:
            env["PYTHONPATH"] = f"{harness.skewed_clock_dir(clock_offset)}{os.pathsep}{ROOT}"
        self.agent = agent
        self.clock_offset = clock_offset
        self.proc = Proc(name, [PYTHON, "-m", "agents.runtime"], env, harness.logs)
        harness.procs.append(self.proc)

    def wait_ready(self, seconds: float = READY_SECONDS) -> Runtime:
        def ready():
            if not self.proc.alive():
                raise ChaosError(
                    f"{self.proc.name} exited {self.proc.proc.returncode}:\n{self.proc.tail()}"
                )
            return " ready." in self.proc.output()

        wait_until(f"{self.proc.name} to consume its queue", seconds, ready)
        return self

    def kill9(self) -> None:
        self.proc.kill9()

    def stop(self) -> None:
        self.proc.stop()

    def logged_clock_offset(self) -> float | None:
        """How far the runtime's own log clock is from the real one: the timestamp of its
        `agent_start` event's record minus the real time the process was started (start-up takes
        seconds; the suite checks a 5-minute offset to within a minute). Proof that the
        simulated host clock is in effect."""
        for line in self.proc.output().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # not a log record (a script's stray output)
            if isinstance(record, dict) and record.get("event") == "agent_start":
                stamp = datetime.fromisoformat(record["timestamp"])
                return stamp.timestamp() - self.proc.started_wall
        return None


def db(function, *args, **kwargs):
    """Call an ORM-using function, reconnecting while PostgreSQL restarts (bounded)."""
    from django.db import InterfaceError, OperationalError, connection

    deadline = time.monotonic() + DB_RETRY_SECONDS
    while True:
        try:
            return function(*args, **kwargs)
        except (OperationalError, InterfaceError):
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# ---------------------------------------------------------------------------------- beat


class Beat:
    """What beat and an external cron do, on the suite's schedule: the every-minute tick as
    `GET /api/cron/scheduled-runs` (the cron key; the tick runs in a web worker), and beat's
    `jobs-watchdog` entry — the `agents.tasks.run_watchdog` task published to the control
    plane's worker (the watchdog pass plus the agents' Redis users sync). Either can be paused:
    ticks while a fault runs a tick of its own, the watchdog for fault (f)."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.ticks_on = threading.Event()
        self.watchdog_on = threading.Event()
        self.ticks_on.set()
        self.watchdog_on.set()
        self._tick_lock = threading.Lock()
        self._stopping = threading.Event()
        self.counts: Counter[str] = Counter()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target, name in ((self._tick_loop, "chaos-tick"), (self._watchdog_loop, "chaos-wd")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def pause_ticks(self) -> None:
        self.ticks_on.clear()
        with self._tick_lock:  # a tick under way ends first
            pass

    def resume_ticks(self) -> None:
        self.ticks_on.set()

    def _tick_loop(self) -> None:
        period = self.harness.timing.tick_period
        while not self._stopping.wait(period):
            if not self.ticks_on.is_set():
                continue
            with self._tick_lock:
                if self.ticks_on.is_set():
                    self.counts[f"tick HTTP {self.harness.cron_tick()}"] += 1

    def _watchdog_loop(self) -> None:
        from config.celery import app

        period = self.harness.timing.watchdog_period
        while not self._stopping.wait(period):
            if not self.watchdog_on.is_set():
                continue
            try:
                app.send_task(
                    "agents.tasks.run_watchdog", expires=period, ignore_result=True, retry=False
                )
                self.counts["watchdog task sent"] += 1
            except Exception:  # the broker is being restarted: beat would miss it too
                self.counts["watchdog task not sent (broker down)"] += 1


# ---------------------------------------------------------------------------------- harness


class Harness:
    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.tmp = Path(tempfile.mkdtemp(prefix="mimic-chaos-"))
        self.tmp.chmod(0o755)  # the postgres user (and script users) must reach below
        self.logs = self.tmp / "logs"
        self.logs.mkdir(mode=0o700)
        self.work_dir = self.tmp / "work"
        self.work_dir.mkdir(mode=0o755)
        self.procs: list[Proc] = []
        # bin/services.py's Postgres and Redis (loaded by path, so untyped here), set by start().
        self.postgres: Any = None
        self.redis: Any = None
        self.env: dict[str, str] = {}
        self.base = ""
        self.collector = Collector()
        self.beat = Beat(self)
        self.script_user: str | None = None
        self._created_user = False
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ------------------------------------------------------------------ start / stop

    def start(self) -> None:
        t = self.timing
        say(f"scale {t.scale:g}: {t.describe()}")
        self.postgres = services.Postgres(self.tmp / "pg")
        self.postgres.start()
        self.redis = services.Redis(self.tmp / "redis")
        self.redis.start()
        say(f"PostgreSQL on 127.0.0.1:{self.postgres.port}, Redis on 127.0.0.1:{self.redis.port}")
        port = services.free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = services.venv_env(
            {
                "PATH": os.environ.get("PATH", os.defpath),
                "HOME": os.environ.get("HOME", "/"),
                "LANG": os.environ.get("LANG", "C.UTF-8"),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
                # Never a development checkout's var/dev.env (config/env.py reads it if present).
                "ENV_FILE": str(self.tmp / "no-env-file"),
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "VAULT_ENCRYPTION_KEYS": services.fernet_key(),
                "CRON_SECRET": secrets.token_urlsafe(32),
                "DATABASE_URL": self.postgres.url,
                "REDIS_URL": self.redis.url,
                "ALLOWED_HOSTS": "127.0.0.1",
                # Plain http on loopback (as bin/testenv): no https redirect or https-only cookies.
                "SECURE_SSL_REDIRECT": "false",
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "AGENT_CONTROL_PLANE_URL": self.base,
                "PORT": str(port),
                "LOG_LEVEL": "INFO",
                **t.settings_env(),
            }
        )
        if os.environ.get("TMPDIR"):
            env["TMPDIR"] = os.environ["TMPDIR"]
        self.env = env
        self._run(["manage.py", "migrate", "--noinput", "-v", "0"], "migrate", 600)

        entries = procfile()
        web = entries["web"].replace("0.0.0.0", "127.0.0.1")
        if "127.0.0.1" not in web:
            raise ChaosError(f"the Procfile's web line no longer binds 0.0.0.0: {entries['web']}")
        for name, line in (("web", web), ("worker", entries["worker"])):
            self.procs.append(Proc(name, ["/bin/sh", "-c", f"exec {line}"], env, self.logs))
        web_proc, worker_proc = self.procs[0], self.procs[1]

        def healthy():
            for proc in (web_proc, worker_proc):
                if not proc.alive():
                    raise ChaosError(f"{proc.name} exited:\n{proc.tail()}")
            try:
                status, body = self.http("GET", "/api/health")
            except OSError:
                return False
            return status == 200 and body.get("database") == body.get("broker") == "ok"

        wait_until("web's /api/health", READY_SECONDS, healthy)
        wait_until("the worker", READY_SECONDS, lambda: " ready." in worker_proc.output())
        say(f"control plane up: web (gunicorn) at {self.base}, Celery worker")

        os.environ.update(env)
        import django

        django.setup()
        if os.geteuid() == 0:
            self.script_user = self._ensure_script_user()
        self.collector.start()
        self.beat.start()

    def close(self) -> None:
        self.beat.stop()
        # Agents and helper processes first (a runtime's goodbye needs web), then web/worker.
        for proc in reversed(self.procs):
            proc.stop()
        self.collector.stop()
        for server in (self.redis, self.postgres):
            if server is not None:
                server.stop()
        if self._created_user:
            userdel = shutil.which("userdel") or "/usr/sbin/userdel"
            subprocess.run([userdel, SCRIPT_USER], check=False, capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _run(self, args: list[str], name: str, seconds: float) -> None:
        with open(self.logs / f"{name}.log", "ab") as out:
            done = subprocess.run(
                [PYTHON, *args],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=seconds,
                check=False,
            )
        if done.returncode != 0:
            raise ChaosError(f"{' '.join(args[:2])} failed:\n{services.tail(self.logs / name)}")

    def _ensure_script_user(self) -> str:
        try:
            pwd.getpwnam(SCRIPT_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                 "/nonexistent", "--shell", "/usr/sbin/nologin", SCRIPT_USER],
                check=True,
                capture_output=True,
            )  # fmt: skip
            self._created_user = True
        return SCRIPT_USER

    def skewed_clock_dir(self, offset: float) -> Path:
        from tests.chaos.clock_skew import sitecustomize_source

        folder = self.tmp / f"clock{offset:+g}"
        if not folder.exists():
            folder.mkdir(mode=0o755)
            (folder / "sitecustomize.py").write_text(sitecustomize_source(offset))
        return folder

    # ------------------------------------------------------------------ talking to it

    def http(self, method: str, path: str, *, headers=None, timeout: float = 30):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            headers={"Accept": "application/json", **(headers or {})},
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        return status, body if isinstance(body, dict) else {}

    def cron_tick(self) -> str:
        try:
            status, _ = self.http(
                "GET",
                "/api/cron/scheduled-runs",
                headers={"x-cron-key": self.env["CRON_SECRET"]},
                timeout=100,
            )
            return str(status)
        except OSError as exc:
            return type(exc).__name__

    # ------------------------------------------------------------------ faults' tools

    def restart_postgres(self) -> float:
        """`pg_ctl restart -m fast` as the postgres user (same data dir, same port)."""
        started = time.monotonic()
        pg = self.postgres
        done = pg._run(
            [str(pg.bindir / "pg_ctl"), "--pgdata", str(pg.data), "--log", str(pg.logfile),
             "--mode", "fast", "--wait", "--timeout", "60", "restart"]
        )  # fmt: skip
        if done.returncode != 0:
            raise ChaosError(f"pg_ctl restart failed:\n{done.stdout}{done.stderr}")
        return time.monotonic() - started

    def restart_redis(self) -> float:
        """Stop Redis and start an empty one on the same port with the same password (no
        persistence: every queue and every agent's ACL user is gone)."""
        started = time.monotonic()
        port = self.redis.port
        self.redis.stop()
        for _ in range(20):
            self.redis.wanted_port = port
            self.redis.start()
            if self.redis.port == port:
                return time.monotonic() - started
            self.redis.stop()  # came up elsewhere (our port still held): try again
            time.sleep(0.5)
        raise ChaosError(f"Redis could not be started again on port {port}")

    def wait_tick_lease_free(self) -> None:
        """Until no tick holds the executor lease (a tick killed by an earlier fault keeps it
        until it expires): a full tick started now takes it."""
        from config.clock import control_plane_now
        from schedules.lease import TICK_LEASE, lease_holder_until

        def free():
            until = db(lease_holder_until, name=TICK_LEASE)
            return until is None or until <= db(control_plane_now)

        wait_until(
            "the tick's executor lease to be free", self.timing.lease + 10, free, interval=0.5
        )

    def redis_client(self):
        import redis

        return redis.Redis.from_url(self.redis.url)

    def new_org(self, key: str):
        from agents.models import Runtime as ScriptRuntime
        from agents.models import Script
        from billing.models import BillingStatus, Organization

        slug = f"chaos-{key}-{secrets.token_hex(3)}"
        org = db(
            Organization.objects.create,
            name=slug,
            slug=slug,
            billing_status=BillingStatus.ACTIVE,
        )
        script = db(
            Script.objects.create,
            organization=org,
            name="chaos bot",
            runtime=ScriptRuntime.PYTHON,
            source=BOT_SCRIPT,
        )
        return org, script

    def new_agent(self, org, name: str, *, capacity: int = 1):
        from agents.models import Agent, Controller

        return db(
            Agent.objects.create,
            organization=org,
            name=name,
            slug=name,
            capacity=capacity,
            controller=Controller.MANUAL,
            auto_start=False,
        )

    def bot_variables(self, seconds: float, *, fail_attempts: int = 0) -> dict:
        return {
            "collector": self.collector.url,
            "seconds": round(seconds, 2),
            "beat": BOT_BEAT_SECONDS,
            "failAttempts": fail_attempts,
        }

    def make_job(
        self,
        agent,
        script,
        *,
        seconds: float,
        fail_attempts: int = 0,
        max_attempts: int = 3,
        retry_delay: int = 1,
    ) -> str:
        import uuid

        from agents.models import Job, ScriptVersion
        from config.clock import control_plane_now

        def create():
            now = control_plane_now()
            return Job.objects.create(
                organization_id=agent.organization_id,
                script=script,
                code=ScriptVersion.record(script),
                script_version=script.version,
                agent=agent,
                trigger="manual",
                scheduled_for=now,
                idempotency_key=f"chaos:{uuid.uuid4()}",
                created_at=now,
                max_attempts=max_attempts,
                retry_delay_seconds=retry_delay,
                max_runtime_minutes=120,
                variables=self.bot_variables(seconds, fail_attempts=fail_attempts),
            )

        return str(db(create).id)

    def publish(self, jobs: list[tuple[str, Agent]]) -> None:
        """Publish run_job for (job id, agent) pairs, as the tick does after its commit."""
        from agents.dispatch import jobs_publish
        from config.clock import control_plane_now

        result = db(
            lambda: jobs_publish(jobs=[(UUID(j), a.id) for j, a in jobs], now=control_plane_now())
        )
        if result.failed:
            raise ChaosError(f"could not publish {len(result.failed)} job(s)")

    def make_schedule(self, agent, script, *, seconds: float, name: str) -> str:
        """A schedule with one occurrence due now (a yearly cron whose nextRunAt is now)."""
        from config.clock import control_plane_now
        from schedules.models import Schedule

        def create():
            return Schedule.objects.create(
                organization_id=agent.organization_id,
                name=name,
                script=script,
                agent=agent,
                cron_expression="0 0 1 1 *",
                next_run_at=control_plane_now(),
                max_retries=2,
                retry_delay_seconds=1,
                max_runtime_minutes=120,
                variables=self.bot_variables(seconds),
            )

        return str(db(create).id)

    def job_rows(self, job_ids, schedule_ids) -> list[dict]:
        from django.db.models import Q

        from agents.models import Job

        query = Q(id__in=list(job_ids)) | Q(schedule_id__in=list(schedule_ids))
        return db(
            lambda: list(
                Job.objects.filter(query).values(
                    "id",
                    "status",
                    "attempt",
                    "error_kind",
                    "error_message",
                    "schedule_id",
                    "queued_at",
                    "started_at",
                    "finished_at",
                )
            )
        )


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.lstrip().startswith("#") and command.strip():
            entries[name.strip()] = command.strip()
    return entries


# ---------------------------------------------------------------------------------- verdict


@dataclass
class Fault:
    """One fault's jobs and what the suite expects of them."""

    key: str
    title: str
    jobs: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)  # each must yield exactly one job
    expected_runs: dict[str, int] = field(default_factory=dict)  # job -> runs, where certain
    schedule_job_runs: int | None = None  # runs expected of each schedule's job, if certain
    started: float = field(default_factory=time.monotonic)
    injected: float | None = None
    bound: float = 0.0
    runtimes: list[Runtime] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Filled by settle():
    rows: list[dict] = field(default_factory=list)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    recovered: float | None = None
    lost: int = 0
    overlaps: int = 0
    extra_runs: int = 0
    problems: list[str] = field(default_factory=list)
    crashed: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.crashed is None
            and not self.problems
            and self.lost == 0
            and self.overlaps == 0
            and self.extra_runs == 0
        )

    def note(self, text: str) -> None:
        self.notes.append(text)
        say(f"({self.key}) {text}")


def settle(harness: Harness, fault: Fault) -> None:
    """Wait (bounded) until every job of the fault is final, then judge it."""
    origin = fault.injected if fault.injected is not None else fault.started
    deadline = origin + fault.bound
    while True:
        rows = harness.job_rows(fault.jobs, fault.schedules)
        with_job = {str(r["schedule_id"]) for r in rows if r["schedule_id"]}
        if (
            rows
            and all(s in with_job for s in fault.schedules)
            and all(r["status"] in FINAL for r in rows)
        ):
            fault.recovered = time.monotonic() - origin
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(0.5)  # the last `end` records are sent before the scripts exit; let them land
    fault.rows = harness.job_rows(fault.jobs, fault.schedules)
    judge(harness, fault)


def judge(harness: Harness, fault: Fault) -> None:
    rows = fault.rows
    ids = [str(r["id"]) for r in rows]
    fault.runs = harness.collector.runs(ids)
    missing_schedules = [s for s in fault.schedules if not any(
        str(r["schedule_id"]) == s for r in rows)]  # fmt: skip
    not_succeeded = [r for r in rows if r["status"] != "succeeded"]
    fault.lost = (
        len(not_succeeded)
        + len(missing_schedules)
        + len(set(fault.jobs) - {str(r["id"]) for r in rows})
    )
    for r in not_succeeded:
        fault.problems.append(
            f"job {r['id']} {r['status']} (attempt {r['attempt']}) {r['error_kind']}: "
            f"{r['error_message'][:160]}"
        )
    for s in missing_schedules:
        fault.problems.append(f"schedule {s}: its occurrence was never dispatched")
    per_schedule = Counter(str(r["schedule_id"]) for r in rows if r["schedule_id"])
    for s, n in per_schedule.items():
        if n > 1:
            fault.extra_runs += n - 1
            fault.problems.append(f"schedule {s}: one occurrence dispatched {n} times")
    for job, runs in fault.runs.items():
        for a, b in overlapping_pairs(runs):
            fault.overlaps += 1
            fault.problems.append(
                f"job {job}: runs {a.run[:8]} (attempt {a.attempt}, {a.start - STARTED:.1f}s-"
                f"{a.last - STARTED:.1f}s) and {b.run[:8]} (attempt {b.attempt}, "
                f"{b.start - STARTED:.1f}s-{b.last - STARTED:.1f}s) overlap"
            )
        row = next(r for r in rows if str(r["id"]) == job)
        if row["status"] == "succeeded" and not any(run.ended for run in runs):
            fault.problems.append(f"job {job} succeeded, but no run of its script was seen ending")
        expected = fault.expected_runs.get(job)
        if expected is None and row["schedule_id"]:
            expected = fault.schedule_job_runs
        if expected is not None and len(runs) != expected:
            if len(runs) > expected:
                fault.extra_runs += len(runs) - expected
            fault.problems.append(
                f"job {job}: {len(runs)} run(s) of its script, {expected} expected"
            )
    if fault.recovered is None and not fault.problems:
        fault.problems.append(f"not every job was final within {fault.bound:.0f}s")


def table(faults: list[Fault]) -> str:
    header = (
        "| fault | jobs | succeeded | lost | overlapping runs | script runs | extra runs "
        "| time to recover | bound | result |"
    )
    lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for f in faults:
        rows = f.rows
        succeeded = sum(1 for r in rows if r["status"] == "succeeded")
        runs = sum(len(v) for v in f.runs.values())
        recovered = f"{f.recovered:.0f} s" if f.recovered is not None else "—"
        result = "ok" if f.ok else ("CRASHED" if f.crashed else "FAIL")
        lines.append(
            f"| ({f.key}) {f.title} | {len(rows)} | {succeeded} | {f.lost} | {f.overlaps} "
            f"| {runs} | {f.extra_runs} | {recovered} | {f.bound:.0f} s | {result} |"
        )
    return "\n".join(lines)
