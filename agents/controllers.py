"""Agent controllers: how an agent process gets started and stopped (SPEC §7).

- `local`: spawn `manage.py runagent <id>` on this host, detached (dev, demo, tests).
- `webhook`: POST an HMAC-signed JSON request to the configured URL (e.g. a function that boots
  a cloud VM whose startup runs `runagent`).
- `manual`: someone starts it by hand; never auto-started.

`agent_start` is called by the tick's dispatch step outside any transaction (it does network and
process I/O) and by `POST /api/agents/{id}/start`. A start is claimed with a compare-and-swap
(status `starting` + start_requested_at), so two ticks racing start an agent once; readiness
(agents.readiness) treats a fresh `starting` as ready, so jobs are queued meanwhile and the
agent drains its queue when it boots.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from agents import services
from agents.models import Agent, AgentStatus, Controller
from agents.readiness import START_GRACE, AgentState, effective_status

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mimic-Signature"


class AgentStartFailed(Exception):
    """The agent could not be started. The message is safe to show and store (no secrets).

    `code`: "not_startable" (manual controller, disabled agent — asking again will not help) or
    "controller_error" (spawn failure, webhook unreachable / timeout / non-2xx).
    """

    def __init__(self, message: str, *, code: str = "controller_error"):
        self.code = code
        super().__init__(message)


class AgentStopFailed(Exception):
    pass


def agent_start(*, agent: Agent, now: datetime) -> None:
    """Start `agent` unless it is online or already being started. Raises AgentStartFailed."""
    if agent.status == AgentStatus.DISABLED:
        raise AgentStartFailed(f"Agent {agent.slug} is disabled.", code="not_startable")
    if agent.controller == Controller.MANUAL:
        raise AgentStartFailed("manual controller cannot auto-start", code="not_startable")
    state = AgentState.from_agent(agent)
    if effective_status(state, now=now, online_seconds=settings.AGENT_ONLINE_SECONDS) == (
        AgentStatus.ONLINE
    ):
        return
    if not services.agent_mark_starting(agent_id=agent.id, now=now, grace=START_GRACE):
        log.info("event=agent_start_skipped agent=%s reason=already_starting", agent.slug)
        return
    previous = agent.status
    try:
        if agent.controller == Controller.LOCAL:
            _spawn_local(agent)
        elif agent.controller == Controller.WEBHOOK:
            _post_webhook(agent, action="start", now=now)
        else:
            raise AgentStartFailed(f"unknown controller {agent.controller!r}", code="not_startable")
    except AgentStartFailed as exc:
        services.agent_start_failed(agent_id=agent.id, now=now, previous_status=previous)
        log.warning("event=agent_start_failed agent=%s error=%s", agent.slug, exc)
        raise
    agent.status, agent.start_requested_at = AgentStatus.STARTING, now
    log.info("event=agent_start_requested agent=%s controller=%s", agent.slug, agent.controller)


def agent_stop(*, agent: Agent, now: datetime) -> None:
    """Ask `agent` to stop. Its process marks itself `stopped` when it exits (Celery's warm
    shutdown lets running jobs finish first). Raises AgentStopFailed."""
    if agent.controller == Controller.MANUAL:
        raise AgentStopFailed("manual controller cannot stop the agent; stop it on its host")
    if agent.controller == Controller.WEBHOOK:
        try:
            _post_webhook(agent, action="stop", now=now)
        except AgentStartFailed as exc:
            raise AgentStopFailed(str(exc)) from None
        return
    here = socket.gethostname()
    if agent.pid and agent.hostname and agent.hostname != here:
        raise AgentStopFailed(f"Agent {agent.slug} runs on {agent.hostname}, not on {here}.")
    if agent.pid and _is_agent_process(agent.pid, agent):
        os.kill(agent.pid, signal.SIGTERM)
        log.info("event=agent_stop_requested agent=%s pid=%d", agent.slug, agent.pid)
        return
    # Nothing runs here (never started, or killed without a trace): record it as stopped.
    services.agent_mark_stopped(agent_id=agent.id, pid=None)
    agent.status, agent.pid = AgentStatus.STOPPED, None


# ------------------------------------------------------------------------------- local


def _spawn_local(agent: Agent) -> int:
    log_dir = Path(settings.AGENT_LOG_DIR)
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"agent-{agent.slug}-{agent.id.hex[:8]}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "manage.py"),
                    "runagent",
                    str(agent.id),
                ],
                cwd=settings.BASE_DIR,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # detached: outlives a restart of whoever spawned it
                close_fds=True,
            )
    except OSError as exc:
        raise AgentStartFailed(f"could not spawn runagent: {exc}") from None
    # Reap it when it exits, so a long-lived web/worker process collects no zombies.
    threading.Thread(target=proc.wait, name=f"reap-agent-{proc.pid}", daemon=True).start()
    services.agent_record_spawn(agent_id=agent.id, pid=proc.pid, hostname=socket.gethostname())
    agent.pid = proc.pid
    log.info("event=agent_spawned agent=%s pid=%d log=%s", agent.slug, proc.pid, log_path)
    return proc.pid


def _is_agent_process(pid: int, agent: Agent) -> bool:
    """Is `pid` still this agent's runagent (and not a recycled pid)?"""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): trust the pid if it exists
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return b"runagent" in argv and (str(agent.id).encode() in argv or agent.slug.encode() in argv)


# ------------------------------------------------------------------------------- webhook


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is not success: it would turn the signed POST into someone else's GET.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def webhook_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`; the receiver recomputes and compares it in
    constant time, and may reject stale `ts` values to stop replays."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post_webhook(agent: Agent, *, action: str, now: datetime) -> None:
    config = agent.controller_config or {}
    url, secret = config.get("url"), config.get("secret")
    parts = urlsplit(url) if isinstance(url, str) else None
    if not parts or parts.scheme not in ("http", "https") or not parts.hostname:
        raise AgentStartFailed("webhook controller needs an http(s) url in its config")
    if not secret or not isinstance(secret, str):
        raise AgentStartFailed("webhook controller needs a signing secret in its config")
    # Messages name the endpoint without credentials or query string.
    where = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
    body = json.dumps(
        {
            "agentId": str(agent.id),
            "slug": agent.slug,
            "action": action,
            "ts": now.isoformat().replace("+00:00", "Z"),
        },
        separators=(",", ":"),
    ).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "mimic-scheduled-runs",
            SIGNATURE_HEADER: webhook_signature(secret, body),
        },
    )
    timeout = settings.AGENT_WEBHOOK_TIMEOUT_SECONDS
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise AgentStartFailed(f"webhook {where} answered HTTP {exc.code} to {action}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise AgentStartFailed(f"webhook {where} timed out after {timeout:g}s") from None
        raise AgentStartFailed(f"webhook {where} unreachable: {reason}") from None
    except TimeoutError:
        raise AgentStartFailed(f"webhook {where} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise AgentStartFailed(f"webhook {where} failed: {type(exc).__name__}: {exc}") from None
    if not 200 <= status < 300:
        raise AgentStartFailed(f"webhook {where} answered HTTP {status} to {action}")
