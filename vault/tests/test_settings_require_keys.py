"""Production settings refuse to start without VAULT_ENCRYPTION_KEYS (SPEC §8, §13)."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "import django; django.setup(); print('started')"


def run_settings(**env_overrides):
    env = {k: v for k, v in os.environ.items() if k != "VAULT_ENCRYPTION_KEYS"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        ENV_FILE=str(ROOT / "var" / "no-such-dev.env"),  # never read the developer's dev.env
        SECRET_KEY="x" * 50,
        DEBUG="false",
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_keys_when_debug_is_off():
    result = run_settings()
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "VAULT_ENCRYPTION_KEYS must be set when DEBUG is off" in result.stderr


def test_it_starts_with_keys_when_debug_is_off():
    result = run_settings(VAULT_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"
