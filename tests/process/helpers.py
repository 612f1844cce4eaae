"""Real-process test helpers: an agent runtime (`python -m agents.runtime`) started with nothing
but its MIMIC_* variables against the test's live server and the test Redis, rows to feed it,
and polling with tight deadlines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection
from django.utils import timezone

from agents import services
from agents.controllers import runtime_environment
from agents.models import Agent, Controller, Job, JobStatus, Runtime, Script, ScriptVersion
from billing.models import BillingStatus, Organization

ROOT = Path(settings.BASE_DIR)

# The control plane's settings while a runtime runs in a test: short intervals, told to the
# runtime in every heartbeat answer, so a behaviour shows within seconds.
FAST_CONTROL_PLANE = {
    "AGENT_HEARTBEAT_SECONDS": 0.5,
    "JOB_KILL_GRACE_SECONDS": 1.0,
    "AGENT_ONLINE_SECONDS": 4,
}
# The four platform secrets (SPEC §7): no agent runtime may hold any of them.
PLATFORM_SECRETS = ("DATABASE_URL", "SECRET_KEY", "VAULT_ENCRYPTION_KEYS", "CRON_SECRET")


# A script that spawns a child which would sleep for a minute, prints both pids, then sleeps
# itself: what a kill of the whole process tree (deadline, cancel) must take down.
SCRIPT_WITH_CHILD = """
import os, subprocess, time
child = subprocess.Popen(["sleep", "60"])
print(f"script={os.getpid()} child={child.pid}", flush=True)
time.sleep(60)
"""


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.1, what=""):
    """Poll until `predicate()` is truthy; return its value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def ensure_system_user(name: str):
    """A system user for tests that run as root (created once, kept: users are cheap and a
    later run reuses it)."""
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return pwd.getpwnam(name)


# As root, scripts of every test agent run as this one user (the runtime would otherwise
# create a user per agent id: dozens per run). The hostile-script test uses the default.
TEST_SCRIPT_USER = "mimic-test-scripts"


def runtime_env(agent: Agent, **extra: str) -> dict[str, str]:
    """What a runtime is started with: a fresh token for `agent` (so the test's control plane,
    settings.AGENT_CONTROL_PLANE_URL = the live server, knows it), its broker URL, a PATH."""
    env = runtime_environment(agent, services.agent_token_issue(agent_id=agent.id))
    env["PATH"] = os.environ.get("PATH", os.defpath)
    env["MIMIC_LOG_LEVEL"] = "INFO"
    if os.geteuid() == 0:
        env["AGENT_SCRIPT_USER"] = ensure_system_user(TEST_SCRIPT_USER).pw_name
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def control_plane_env(**overrides: str) -> dict[str, str]:
    """The environment of a control-plane process (a Celery worker) started by a test: the
    test's own, pointed at the database pytest-django created."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    env = dict(os.environ)
    env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def runtime_pids(agent_id) -> list[int]:
    """Pids of agent runtimes on this host serving `agent_id` (found through /proc: the control
    plane itself keeps no pid of a runtime)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if b"agents.runtime" not in fh.read():
                    continue
            if process_environ(int(entry)).get("MIMIC_AGENT_ID") == str(agent_id):
                found.append(int(entry))
        except OSError:
            continue
    return found


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def process_environ(pid: int) -> dict[str, str]:
    """What /proc says a process's environment is (the test runs as root or as its owner)."""
    with open(f"/proc/{pid}/environ", "rb") as fh:
        raw = fh.read()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class AgentProcess:
    """`python -m agents.runtime` as a child of the test, with its output in a file. `env` is
    its whole environment (runtime_env); `inherit=True` adds the test's own environment on top,
    as a careless starter would (the runtime must clean it away)."""

    def __init__(
        self, agent: Agent, log_path: Path, env: dict[str, str], *, user=None, python=None
    ):
        self.agent = agent
        self.log_path = log_path
        self.started_at = timezone.now()
        self._log = open(log_path, "ab")  # noqa: SIM115 — closed in stop()
        extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
        self.proc = subprocess.Popen(
            [python or sys.executable, "-m", "agents.runtime"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **extra,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_online(self, timeout: float = 30) -> None:
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"runtime exited {self.proc.returncode}:\n{self.output()}")
            return self.consuming()

        wait_for(ready, timeout=timeout, interval=0.2, what="the agent runtime to consume")

    def consuming(self) -> bool:
        return b"ready." in self.log_path.read_bytes()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def events(self, event: str) -> list[dict]:
        """The runtime's records of one event (agents.runtime.logformat.log_event), all of its
        output read."""
        return log_events(self.log_path.read_text(errors="replace"), event)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def log_events(output: str, event: str) -> list[dict]:
    """The JSON log records of one event in a process's output, in order; a line that is not a
    record (a script's stray print, a half-written last line) is skipped."""
    found = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == event:
            found.append(record)
    return found


# ------------------------------------------------------------------------------ rows


def make_org(**fields) -> Organization:
    slug = fields.pop("slug", f"org-{uuid.uuid4().hex[:8]}")
    return Organization.objects.create(
        name=slug,
        slug=slug,
        billing_status=fields.pop("billing_status", BillingStatus.ACTIVE),
        **fields,
    )


def make_agent(org: Organization, **fields) -> Agent:
    slug = fields.pop("slug", f"agent-{uuid.uuid4().hex[:8]}")
    fields.setdefault("controller", Controller.MANUAL)
    fields.setdefault("auto_start", False)
    return Agent.objects.create(organization=org, name=slug, slug=slug, **fields)


def make_script(org: Organization, source: str, runtime: str = Runtime.PYTHON) -> Script:
    return Script.objects.create(organization=org, name="script", runtime=runtime, source=source)


def make_job(
    agent: Agent,
    source: str,
    *,
    runtime: str = Runtime.PYTHON,
    now: datetime | None = None,
    **fields,
) -> Job:
    now = now or timezone.now()
    script = make_script(agent.organization, source, runtime)
    return Job.objects.create(
        organization=agent.organization,
        script=script,
        code=ScriptVersion.record(script),
        script_version=script.version,
        agent=agent,
        trigger=fields.pop("trigger", "manual"),
        scheduled_for=now,
        idempotency_key=f"test:{uuid.uuid4()}",
        created_at=now,
        **fields,
    )


def job_status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(id=job.id)


def wait_for_status(job: Job, statuses, *, timeout: float) -> Job:
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    wait_for(lambda: job_status(job) in statuses, timeout=timeout, what=f"job in {statuses}")
    return Job.objects.get(id=job.id)


FINISHED = {
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.TIMED_OUT,
    JobStatus.CANCELED,
    JobStatus.LOST,
}
