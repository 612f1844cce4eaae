"""Production settings — what you get with DEBUG unset (SPEC §13) — pass `manage.py check
--deploy` without a warning, and leave the development-only switches off. Each case starts the
settings in a fresh process with a production-like environment built from nothing (not this
process's, which the test environment adjusts for plain-http servers on loopback)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": str(ROOT / "var" / "no-such-dev.env"),  # never read a developer's dev.env
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAULT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CRON_SECRET": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "scheduler.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://mimic@127.0.0.1:5432/mimic"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_it_passes_the_deploy_checks_without_a_warning():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output and "?:" not in output


SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.AGENT_LOCAL_CONTROLLER, s.AGENT_WEBHOOK_ALLOW_PRIVATE, s.SECURE_SSL_REDIRECT)"
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "False False False True"),
        ({"DEBUG": "true"}, "True True False False"),
        ({"AGENT_LOCAL_CONTROLLER": "true"}, "False True False True"),
        ({"AGENT_WEBHOOK_ALLOW_PRIVATE": "true"}, "False False True True"),
    ],
)
def test_it_keeps_debug_and_the_agent_escape_hatches_off_unless_set(overrides, expected):
    result = run(["-c", SHOW], production_env(**overrides))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
