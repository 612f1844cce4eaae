"""What the runtime reads from its environment — and the rule that it reads nothing else.

Whatever starts a runtime (a Procfile line under honcho, systemd, the `local` controller, a
shell) may hand it a whole environment; `clean()` keeps only the names below, so the runtime
never holds, and its scripts can never inherit, a variable it was not meant to have.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

REQUIRED = ("MIMIC_URL", "MIMIC_AGENT_ID", "MIMIC_AGENT_TOKEN", "MIMIC_BROKER_URL")
# Optional knobs of the agent host (none of them a secret).
OPTIONAL = (
    "MIMIC_LOG_LEVEL",
    "MIMIC_WORK_DIR",  # where job work folders are made (default: the system temp folder)
    "AGENT_SCRIPT_USER",  # the unprivileged OS user scripts run as (default: mimic-<agent>)
    "AGENT_SCRIPT_PYTHON",  # the interpreter for python scripts (default: the runtime's own)
)
# Harmless variables a desktop bot may need; scripts get these too.
SCRIPT_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "DISPLAY", "XAUTHORITY")
# What whoever starts a runtime on this host (the `local` controller, `manage.py runagent`) passes
# on besides the agent's MIMIC_* variables: the runtime's own knobs and the harmless variables.
HOST_PASSTHROUGH = (*SCRIPT_PASSTHROUGH, *(name for name in OPTIONAL if name != "MIMIC_WORK_DIR"))
# `python -m agents.runtime` must still find the package after a clean re-exec.
ALLOWED = frozenset((*REQUIRED, *OPTIONAL, *SCRIPT_PASSTHROUGH, "PYTHONPATH"))


class ConfigError(Exception):
    """The runtime cannot start; the message says which variable to set."""


def clean(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the runtime runs with: the allowed names only."""
    return {key: value for key, value in environ.items() if key in ALLOWED}


@dataclass(frozen=True)
class Settings:
    url: str
    agent_id: str
    token: str
    broker_url: str
    log_level: str = "INFO"
    work_dir: str | None = None
    script_user: str | None = None
    script_python: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        missing = [name for name in REQUIRED if not environ.get(name, "").strip()]
        if missing:
            raise ConfigError(
                f"set {', '.join(missing)}: an agent runtime needs the control plane's URL, "
                "its agent id, its agent token and its broker URL (README: run an agent)"
            )
        try:
            agent_id = str(uuid.UUID(environ["MIMIC_AGENT_ID"].strip()))
        except ValueError:
            raise ConfigError("MIMIC_AGENT_ID must be the agent's id (a UUID)") from None
        return cls(
            url=environ["MIMIC_URL"].strip().rstrip("/"),
            agent_id=agent_id,
            token=environ["MIMIC_AGENT_TOKEN"].strip(),
            broker_url=environ["MIMIC_BROKER_URL"].strip(),
            log_level=environ.get("MIMIC_LOG_LEVEL", "INFO").strip() or "INFO",
            work_dir=environ.get("MIMIC_WORK_DIR") or None,
            script_user=environ.get("AGENT_SCRIPT_USER") or None,
            script_python=environ.get("AGENT_SCRIPT_PYTHON") or None,
        )

    @property
    def queue(self) -> str:
        return f"agent.{self.agent_id}"

    def __repr__(self) -> str:  # never print the token or the broker password
        return f"Settings(url={self.url!r}, agent_id={self.agent_id!r})"


def host_passthrough(environ: Mapping[str, str]) -> dict[str, str]:
    return {key: environ[key] for key in HOST_PASSTHROUGH if key in environ}


def script_passthrough(environ: Mapping[str, str]) -> dict[str, str]:
    return {key: environ[key] for key in SCRIPT_PASSTHROUGH if key in environ}


def drop_credentials() -> None:
    """Remove the token and broker URL from os.environ once read: a helper process started
    without an explicit environment (useradd, a shell-out) must not inherit them."""
    for name in ("MIMIC_AGENT_TOKEN", "MIMIC_BROKER_URL"):
        os.environ.pop(name, None)
