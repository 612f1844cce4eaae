"""Agent controllers: how an agent process gets started and stopped (SPEC §7).

- `local`: spawn the agent runtime (`python -m agents.runtime`) on this host, detached, with
  only the agent's own MIMIC_* variables (dev, demo, tests; AGENT_LOCAL_CONTROLLER).
- `webhook`: POST an HMAC-signed JSON request to the configured URL (e.g. a function that boots
  a cloud VM whose startup runs the runtime with the `runtimeEnvironment` of the body).
- `manual`: someone starts it by hand; never auto-started.

`agent_start` is called by the tick's dispatch step outside any transaction (it does network and
process I/O) and by `POST /api/agents/{id}/start`. A start is claimed with a compare-and-swap
(status `starting` + start_requested_at), so two ticks racing start an agent once; readiness
(agents.readiness) treats a fresh `starting` as ready, so jobs are queued meanwhile and the
agent drains its queue when it boots. Every start issues the agent a fresh token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

from django.conf import settings

from agents import broker, controller_policy, netguard, services
from agents.models import Agent, AgentStatus, Controller
from agents.readiness import START_GRACE, AgentState, effective_status
from agents.runtime.environment import host_passthrough
from agents.runtime.logformat import log_event
from config.clock import iso_z

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
    if agent.controller == Controller.LOCAL and not controller_policy.local_controller_allowed():
        raise AgentStartFailed(controller_policy.LOCAL_DISABLED, code="not_startable")
    if not services.agent_mark_starting(agent_id=agent.id, now=now, grace=START_GRACE):
        log_event(
            log, logging.INFO, "agent_start_skipped", agent=agent.slug, reason="already_starting"
        )
        return
    previous = agent.status
    try:
        # A started runtime gets a fresh token: whatever held the previous one is shut out.
        environment = runtime_environment(agent, services.agent_token_issue(agent_id=agent.id))
        if agent.controller == Controller.LOCAL:
            _spawn_local(agent, environment)
        elif agent.controller == Controller.WEBHOOK:
            _post_webhook(agent, action="start", now=now, extra={"runtimeEnvironment": environment})
        else:
            raise AgentStartFailed(f"unknown controller {agent.controller!r}", code="not_startable")
    except AgentStartFailed as exc:
        services.agent_start_failed(agent_id=agent.id, now=now, previous_status=previous)
        log_event(log, logging.WARNING, "agent_start_failed", agent=agent.slug, error=exc)
        raise
    agent.status, agent.start_requested_at = AgentStatus.STARTING, now
    log_event(
        log,
        logging.INFO,
        "agent_start_requested",
        agent=agent.slug,
        controller=agent.controller,
    )


def agent_stop(*, agent: Agent, now: datetime) -> None:
    """Ask `agent` to stop: its runtime's next heartbeat is answered `stop`, it lets running
    jobs finish (Celery's warm shutdown) and reports `stopped`. The control plane never signals
    a process itself — a pid an agent reported is not ours to trust. A webhook agent's endpoint
    is told too (it may shut the VM down). Raises AgentStopFailed."""
    if agent.controller == Controller.WEBHOOK:
        try:
            _post_webhook(agent, action="stop", now=now)
        except AgentStartFailed as exc:
            raise AgentStopFailed(str(exc)) from None
    state = effective_status(
        AgentState.from_agent(agent), now=now, online_seconds=settings.AGENT_ONLINE_SECONDS
    )
    if state in (AgentStatus.ONLINE, AgentStatus.STARTING):
        services.agent_request_stop(agent_id=agent.id, now=now)
        agent.stop_requested_at = now
        log_event(log, logging.INFO, "agent_stop_requested", agent=agent.slug)
        return
    # Nothing is running (never started, or killed without a trace): record it as stopped.
    services.agent_mark_stopped(agent_id=agent.id)
    agent.status = AgentStatus.STOPPED


def runtime_environment(agent: Agent, token: str) -> dict[str, str]:
    """All an agent runtime is started with (SPEC §7): the control plane's URL, its id, its
    token and its broker URL (a Redis user that opens only its own queue)."""
    return {
        "MIMIC_URL": settings.AGENT_CONTROL_PLANE_URL,
        "MIMIC_AGENT_ID": str(agent.id),
        "MIMIC_AGENT_TOKEN": token,
        "MIMIC_BROKER_URL": broker.agent_broker_url(agent_id=agent.id, token=token),
    }


# ------------------------------------------------------------------------------- local


def _spawn_local(agent: Agent, environment: dict[str, str]) -> int:
    # This host's harmless variables (its scripts need a PATH and a locale) and the agent's own;
    # never the control plane's environment, which holds the platform's secrets.
    env = {**host_passthrough(os.environ), **environment}
    log_dir = Path(settings.AGENT_LOG_DIR)
    try:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = log_dir / f"agent-{agent.slug}-{agent.id.hex[:8]}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agents.runtime"],
                cwd=settings.BASE_DIR,
                env=env,  # built from nothing: the token travels here, never in argv
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # detached: outlives a restart of whoever spawned it
                close_fds=True,
            )
    except OSError as exc:
        raise AgentStartFailed(f"could not spawn the agent runtime: {exc}") from None
    # Reap it when it exits, so a long-lived web/worker process collects no zombies.
    threading.Thread(target=proc.wait, name=f"reap-agent-{proc.pid}", daemon=True).start()
    log_event(log, logging.INFO, "agent_spawned", agent=agent.slug, pid=proc.pid, log=log_path)
    return proc.pid


# ------------------------------------------------------------------------------- webhook


def webhook_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`; the receiver recomputes and compares it in
    constant time, and may reject stale `ts` values to stop replays."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post_webhook(agent: Agent, *, action: str, now: datetime, extra: dict | None = None) -> None:
    # `extra` on start: the fresh runtime environment (token included) — in the signed body,
    # never in a URL or a header a proxy might log.
    config = agent.controller_config or {}
    url, secret = config.get("url"), config.get("secret")
    if not url or not isinstance(url, str):
        raise AgentStartFailed("webhook controller needs a url in its config", code="not_startable")
    # agents.netguard: https to public addresses only (unless AGENT_WEBHOOK_ALLOW_PRIVATE),
    # vetted again when connecting. Its messages name no address of our network.
    allow_private = settings.AGENT_WEBHOOK_ALLOW_PRIVATE
    try:
        target = netguard.parse_url(url, allow_private=allow_private)
    except netguard.WebhookURLRefused as exc:
        raise AgentStartFailed(f"webhook controller: {exc}", code="not_startable") from None
    if not secret or not isinstance(secret, str):
        raise AgentStartFailed("webhook controller needs a signing secret in its config")
    where = target.where  # the endpoint without credentials or query string
    body = json.dumps(
        {
            "agentId": str(agent.id),
            "slug": agent.slug,
            "action": action,
            "ts": iso_z(now),
            **(extra or {}),
        },
        separators=(",", ":"),
    ).encode()
    timeout = settings.AGENT_WEBHOOK_TIMEOUT_SECONDS
    try:
        # A redirect is not followed (it would turn the signed POST into someone else's GET):
        # its 3xx is a failure below.
        status = netguard.post_json(
            url,
            body,
            headers={
                "User-Agent": "mimic-scheduled-runs",
                SIGNATURE_HEADER: webhook_signature(secret, body),
            },
            timeout=timeout,
            allow_private=allow_private,
        )
    except netguard.WebhookURLRefused as exc:
        raise AgentStartFailed(f"webhook controller: {exc}", code="not_startable") from None
    except netguard.WebhookDeliveryFailed as exc:
        if exc.timed_out:
            raise AgentStartFailed(f"webhook {where} timed out after {timeout:g}s") from None
        raise AgentStartFailed(f"webhook {where} unreachable") from None
    if not 200 <= status < 300:
        raise AgentStartFailed(f"webhook {where} answered HTTP {status} to {action}")
