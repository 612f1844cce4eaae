"""One log format (agents/runtime/logformat.py): JSON lines with the same fields from every process — a Django
process (LOGGING, applied by django.setup()), Celery's worker and beat (its setup_logging signal
hands logging to LOGGING), gunicorn (config/gunicorn.py) and the agent runtime (no Django).

Each case runs in a fresh process, as the real ones start, and reads what it wrote to stderr:
every line must be one JSON object."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ["timestamp", "level", "logger", "process", "message"]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = env or {
        **os.environ,
        "ENV_FILE": str(ROOT / "var" / "no-such-dev.env"),  # never a developer's dev.env
        "LOG_LEVEL": "INFO",
    }
    # -W ignore: Python warnings are not log records (they print as they always have).
    return subprocess.run(
        [sys.executable, "-W", "ignore", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def records(stderr: str) -> list[dict]:
    """stderr as log records: each line one JSON object, starting with the agreed fields."""
    lines = stderr.splitlines()
    parsed = [json.loads(line) for line in lines]
    for record in parsed:
        assert list(record)[: len(KEYS)] == KEYS, record
        assert ISO_UTC.fullmatch(record["timestamp"]), record["timestamp"]
    return parsed


DJANGO = """
import logging
import django

django.setup()
logging.getLogger("schedules.engine").info("tick triggered=%d", 3, extra={"org": "demo"})
# Django attaches the request object for its own handlers: not data (its repr has the query).
logging.getLogger("django.request").warning(
    "Not Found: %s", "/x", extra={"status_code": 404, "request": object()}
)
logging.getLogger("django.db.backends").info("below the level LOGGING gives this logger")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("agents.watchdog").exception("watchdog failed\\nsecond line")
"""


def test_it_writes_a_django_process_s_records_as_json_lines():
    done = run("-c", DJANGO)
    assert done.returncode == 0, done.stderr

    tick, not_found, failed = records(done.stderr)

    assert tick["level"] == "INFO" and tick["logger"] == "schedules.engine"
    assert tick["message"] == "tick triggered=3"
    assert tick["process"] == "MainProcess"
    assert tick["org"] == "demo"  # extra= fields follow the agreed ones
    assert not_found["level"] == "WARNING" and not_found["status_code"] == 404
    assert "request" not in not_found
    assert failed["message"] == "watchdog failed\nsecond line"  # still one line
    assert "ZeroDivisionError: division by zero" in failed["exception"]


CELERY = """
import json
import logging
import sys

from celery.utils.log import get_task_logger

from config.celery import app

# What `celery worker` and `celery beat` call to set up logging, with their -l.
app.log.setup(loglevel="DEBUG", redirect_stdouts=True)
logging.getLogger("celery.apps.worker").info("celery@host ready.")
get_task_logger("schedules.tasks").info("tick triggered=1")
logging.getLogger("celery.beat").debug("below LOG_LEVEL: LOGGING, not -l, decides")
writing = [
    type(handler).__name__
    for name in ("celery", "celery.task", "celery.redirected")
    for handler in logging.getLogger(name).handlers
    if not isinstance(handler, logging.NullHandler)
]
print(json.dumps({"celery_handlers": writing, "stdout": type(sys.stdout).__name__}))
"""


def test_celery_worker_and_beat_log_through_django_s_logging():
    done = run("-c", CELERY)
    assert done.returncode == 0, done.stderr

    ready, task = records(done.stderr)

    assert (ready["logger"], ready["message"]) == ("celery.apps.worker", "celery@host ready.")
    assert (task["logger"], task["message"]) == ("schedules.tasks", "tick triggered=1")
    # Celery added none of its own handlers or stream redirection.
    assert json.loads(done.stdout) == {"celery_handlers": [], "stdout": "TextIOWrapper"}


GUNICORN = """
import runpy
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

settings = runpy.run_path("config/gunicorn.py")
cfg = Config()
for name in ("logconfig_dict", "access_log_format"):
    cfg.set(name, settings[name])
log = Logger(cfg)
log.info("Listening at: %s", "http://127.0.0.1:8000")
log.access(
    SimpleNamespace(status="404 Not Found", sent=179, headers=[]),
    SimpleNamespace(headers=[]),
    {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/nope",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": "curl",
    },
    timedelta(milliseconds=39),
)
"""


def test_gunicorn_writes_its_error_and_access_logs_as_json_lines():
    done = run("-c", GUNICORN)
    assert done.returncode == 0, done.stderr

    listening, access = records(done.stderr)

    assert listening["logger"] == "gunicorn.error"
    assert listening["message"] == "Listening at: http://127.0.0.1:8000"
    assert access["logger"] == "gunicorn.access"
    assert access["message"] == '127.0.0.1 "GET /nope HTTP/1.1" 404 179 "-" "curl" 39ms'


def test_the_agent_runtime_writes_the_same_json_lines_without_django():
    # A runtime told to run scripts as a user that does not exist refuses to start, with one
    # logged error: no network, no OS user created, whoever runs the suite.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MIMIC_URL": "http://127.0.0.1:9",
        "MIMIC_AGENT_ID": "5f0c6f2e-8a3e-4c1e-9d0a-0d6f3c1b2a10",
        "MIMIC_AGENT_TOKEN": "log-format-test-token",
        "MIMIC_BROKER_URL": "redis://127.0.0.1:9/0",
        "AGENT_SCRIPT_USER": "mimic-no-such-user-for-the-log-test",
    }
    done = run("-m", "agents.runtime", env=env)

    assert done.returncode == 2, done.stderr
    (refused,) = records(done.stderr)
    assert refused["level"] == "ERROR" and refused["logger"] == "agents.runtime"
    # The product's own records carry their event and its fields as fields (agents/tests/
    # test_log_event.py has the rest).
    assert refused["event"] == "agent_refused_to_start"
    assert "mimic-no-such-user-for-the-log-test" in refused["reason"]
    assert refused["message"] == f"agent_refused_to_start reason={json.dumps(refused['reason'])}"
    assert "log-format-test-token" not in done.stderr
