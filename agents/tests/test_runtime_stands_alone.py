"""The agent runtime is a program of its own (SPEC §7): importing all of it loads no Django (so
no model, no settings, no database connection can be reached from it) and no Prometheus client
(it serves no /metrics: job outcomes are counted by the control plane), Celery's Django fixup
stays off even with DJANGO_SETTINGS_MODULE set, and it cleans its environment to the MIMIC_*
variables and a few harmless ones."""

from __future__ import annotations

import json
import subprocess
import sys

from django.conf import settings

from agents.runtime import environment

PROBE = """
import json, sys
import agents.runtime.__main__, agents.runtime.client, agents.runtime.environment
import agents.runtime.heartbeat, agents.runtime.jobs, agents.runtime.process
from agents.runtime import worker
app = worker.make_app("redis://127.0.0.1:1/0")
app.loader.import_default_modules()
print(json.dumps({
    "django": sorted(m for m, module in sys.modules.items() if module is not None
                     and (m == "django" or m.startswith("django."))),
    "ours": sorted(m for m in sys.modules if m.split(".")[0] in
                   ("config", "schedules", "vault", "billing")
                   or (m.startswith("agents.") and not m.startswith("agents.runtime"))),
    "fixups": [type(f).__name__ for f in app._fixups],
    "prometheus": sorted(m for m in sys.modules if m.split(".")[0] == "prometheus_client"),
}))
"""


def test_importing_the_whole_runtime_loads_no_django_no_other_app_and_no_metrics():
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {"django": [], "ours": [], "fixups": [], "prometheus": []}


def test_it_keeps_only_the_allowed_variables():
    given = {
        "MIMIC_URL": "https://cp.example",
        "MIMIC_AGENT_ID": "5f0c6f2e-8a3e-4c1e-9d0a-0d6f3c1b2a10",
        "MIMIC_AGENT_TOKEN": "t",
        "MIMIC_BROKER_URL": "redis://agent:t@broker:6379/0",
        "PATH": "/usr/bin",
        "DATABASE_URL": "postgres://u:p@db/x",
        "SECRET_KEY": "s",
        "VAULT_ENCRYPTION_KEYS": "k",
        "CRON_SECRET": "c",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "AWS_SECRET_ACCESS_KEY": "a",
    }
    assert environment.clean(given) == {
        key: given[key]
        for key in ("MIMIC_URL", "MIMIC_AGENT_ID", "MIMIC_AGENT_TOKEN", "MIMIC_BROKER_URL", "PATH")
    }


def test_its_settings_never_print_the_token():
    config = environment.Settings.from_environ(
        {
            "MIMIC_URL": "https://cp.example/",
            "MIMIC_AGENT_ID": "5f0c6f2e-8a3e-4c1e-9d0a-0d6f3c1b2a10",
            "MIMIC_AGENT_TOKEN": "tok-abcdefgh",
            "MIMIC_BROKER_URL": "redis://agent:tok-abcdefgh@broker:6379/0",
        }
    )
    assert config.url == "https://cp.example"
    assert "tok-abcdefgh" not in repr(config)


def test_a_missing_variable_is_named():
    try:
        environment.Settings.from_environ({"MIMIC_URL": "https://cp.example"})
    except environment.ConfigError as exc:
        assert "MIMIC_AGENT_ID" in str(exc) and "MIMIC_AGENT_TOKEN" in str(exc)
    else:
        raise AssertionError("a runtime without its token must not start")
