"""`python -m agents.runtime`: be one agent (SPEC §7).

In order: make the process non-dumpable (a same-user script cannot read this process's
environment or memory through /proc), re-execute with a clean environment when the starter
passed more than the MIMIC_* variables, prove the token with a first heartbeat (which also
brings the capacity and intervals), then consume the agent's queue until told to stop.
"""

from __future__ import annotations

import ctypes
import logging
import logging.config
import os
import sys
import time

# The runtime loads no Django, whatever is installed beside it. kombu imports
# django.utils.functional opportunistically when it can (a development virtualenv holds both);
# a blocked name makes that import fail as it does on an agent host without Django.
if "django" not in sys.modules:
    sys.modules["django"] = None  # type: ignore[assignment]

PR_SET_DUMPABLE = 4


def make_non_dumpable() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def main() -> int:
    hardened = make_non_dumpable()

    from agents.runtime import environment

    clean = environment.clean(os.environ)
    if clean != dict(os.environ):
        # Whatever started us passed more than we may hold: start again with only what we need
        # (same pid; the old environment block is gone with the old image).
        os.execve(sys.executable, [sys.executable, "-m", "agents.runtime", *sys.argv[1:]], clean)

    try:
        settings = environment.Settings.from_environ(os.environ)
    except environment.ConfigError as exc:
        print(f"agent runtime: {exc}", file=sys.stderr)
        return 2
    environment.drop_credentials()
    from agents.runtime import logformat

    logging.config.dictConfig(logformat.logging_config(level=settings.log_level.upper()))
    log = logging.getLogger("agents.runtime")

    from agents.runtime import heartbeat, jobs, process, worker
    from agents.runtime.client import AgentClient, Unauthorized, Unreachable

    try:
        user = process.script_user(
            agent_id=settings.agent_id, configured=settings.script_user, euid=os.geteuid()
        )
        python = process.script_python(configured=settings.script_python, user=user)
    except process.ScriptUserError as exc:
        logformat.log_event(log, logging.ERROR, "agent_refused_to_start", reason=exc)
        return 2
    client = AgentClient(url=settings.url, agent_id=settings.agent_id, token=settings.token)
    registry, tuning = jobs.Registry(), jobs.Tuning()
    pulse = heartbeat.Pulse(client=client, registry=registry, tuning=tuning)
    delay = 1.0
    while True:  # an agent may boot before the control plane: wait for it, as for the broker
        try:
            pulse.first()
            break
        except Unauthorized:
            logformat.log_event(
                log,
                logging.ERROR,
                "agent_token_refused",
                note="is MIMIC_AGENT_TOKEN the agent's current token?",
            )
            return 3
        except Unreachable as exc:
            logformat.log_event(
                log,
                logging.WARNING,
                "control_plane_unreachable",
                url=settings.url,
                error=exc,
                retry_in_seconds=delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
    context = jobs.Context(
        client=client,
        registry=registry,
        tuning=tuning,
        work_base=jobs.make_work_base(settings.work_dir),
        user=user,
        python=python,
        passthrough=environment.script_passthrough(os.environ),
    )
    logformat.log_event(
        log,
        logging.INFO,
        "agent_start",
        agent=settings.agent_id,
        queue=settings.queue,
        capacity=tuning.capacity,
        script_user=user.name if user else f"(the runtime's own, uid {os.geteuid()})",
        python=python,
        non_dumpable=hardened,
    )
    app = worker.make_app(settings.broker_url)
    pulse.start()
    try:
        code = worker.start(
            app,
            context=context,
            queue=settings.queue,
            agent_id=settings.agent_id,
            loglevel=settings.log_level,
        )
    finally:
        pulse.stop()
        pulse.goodbye()
        process.remove_workdir(context.work_base)
        logformat.log_event(log, logging.INFO, "agent_stopped", agent=settings.agent_id)
    return code


if __name__ == "__main__":
    sys.exit(main())
