"""One script, isolated (SPEC §7 "Script isolation on the agent host").

- its own session and process group, under a tiny supervisor that SIGKILLs the group if the
  runtime dies (kill -9 of an agent leaves no orphaned bot clicking through a portal);
- a fresh work folder (its HOME and TMPDIR), mode 0700;
- an environment holding only what it needs: never the agent token, never the broker URL;
- when the runtime can (root), a dedicated unprivileged OS user of this agent, no extra groups,
  umask 077 — so the script cannot read the runtime's memory or environment, the platform's
  files, or another agent's work folders.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from agents.runtime.logformat import log_event

log = logging.getLogger("agents.runtime.process")

# Runs as `python -I -c SUPERVISOR <fence seconds> <pulse fd> <argv…>`, leading the job's own
# session/process group:
# - forwards nothing: a group signal reaches the script directly;
# - survives SIGTERM (a no-op handler, which exec resets to default in the script) so the
#   script gets its grace period while the supervisor waits for it;
# - exits with the script's code (128+N if the script died of signal N);
# - SIGKILLs the whole group when the runtime is gone (its parent changed, or its end of the
#   pulse pipe closed: kill -9 of an agent leaves no orphaned bot clicking through a portal), or
#   when the runtime has confirmed nothing for <fence seconds> — a runtime that hangs (a frozen
#   process, a stopped VM thread) cannot fence its scripts itself, so the supervisor does.
SUPERVISOR = r"""
import os, select, signal, subprocess, sys, threading, time
fence, pulse = float(sys.argv[1]), int(sys.argv[2])
parent = os.getppid()
signal.signal(signal.SIGTERM, lambda *a: None)
try:
    child = subprocess.Popen(sys.argv[3:])
except OSError as exc:
    print("mimic: could not start the script: %s" % exc, file=sys.stderr, flush=True)
    sys.exit(127)
def watch():
    confirmed = time.monotonic()
    while True:
        ready = select.select([pulse], [], [], 0.25)[0]
        if ready:
            if not os.read(pulse, 4096):
                os.killpg(0, signal.SIGKILL)
            confirmed = time.monotonic()
        if os.getppid() != parent or time.monotonic() - confirmed > fence:
            os.killpg(0, signal.SIGKILL)
threading.Thread(target=watch, daemon=True).start()
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
"""

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# Users no script may run as: root, and the user other daemons share.
FORBIDDEN_USERS = frozenset({"root", "nobody"})
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ScriptUserError(Exception):
    pass


@dataclass(frozen=True)
class ScriptUser:
    name: str
    uid: int
    gid: int


def default_user_name(agent_id: str) -> str:
    """`mimic-<first 12 hex digits of the agent id>`: one user per agent, under 32 chars."""
    return "mimic-" + agent_id.replace("-", "")[:12]


def script_user(*, agent_id: str, configured: str | None, euid: int) -> ScriptUser | None:
    """Who scripts run as: the configured user, else (as root) this agent's own user, created
    when missing; None when the runtime cannot switch user (scripts then run as the runtime's
    user, which PR_SET_DUMPABLE=0 keeps out of the runtime's memory and environment)."""
    if configured:
        user = _lookup(configured)
        if user is None:
            raise ScriptUserError(f"AGENT_SCRIPT_USER={configured!r}: no such user")
    elif euid == 0:
        name = default_user_name(agent_id)
        user = _lookup(name) or _create(name)
    else:
        return None
    if user.uid == 0 or user.name in FORBIDDEN_USERS or user.uid == 65534:
        raise ScriptUserError(
            f"scripts must not run as {user.name!r}: use a dedicated unprivileged user"
        )
    if euid != 0 and user.uid != euid:
        raise ScriptUserError(
            f"AGENT_SCRIPT_USER={user.name!r} needs a runtime started as root to switch to it"
        )
    return user


def _lookup(name: str) -> ScriptUser | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return ScriptUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _create(name: str) -> ScriptUser:
    useradd = shutil.which("useradd", path=SYSTEM_PATH)
    if useradd is None:
        raise ScriptUserError(
            f"cannot create the script user {name!r} (no useradd): create it, or set "
            "AGENT_SCRIPT_USER"
        )
    done = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",  # its own group, nobody else's
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        env={"PATH": SYSTEM_PATH},
        capture_output=True,
        text=True,
        check=False,
    )
    user = _lookup(name)  # a concurrent runtime may have created it first
    if user is None:
        raise ScriptUserError(f"useradd {name} failed: {done.stderr.strip()[:200]}")
    log_event(log, logging.INFO, "script_user_created", user=name, uid=user.uid)
    return user


def script_argv(runtime: str, path: str, python: str) -> list[str]:
    if runtime == "python":
        return [python, "-u", path]
    if runtime == "shell":
        return ["/bin/sh", path]
    raise ValueError(f"unknown script runtime {runtime!r}")


def script_env(
    *, job_id: str, attempt: int, workdir: str, passthrough: Mapping[str, str]
) -> dict[str, str]:
    """Only what a script needs; built from nothing, so nothing of the runtime leaks in."""
    env = dict(passthrough)
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(
        HOME=workdir,
        TMPDIR=workdir,
        MIMIC_JOB_ID=job_id,
        MIMIC_JOB_ATTEMPT=str(attempt),
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


def make_workdir(*, base: str, job_id: str, attempt: int, user: ScriptUser | None) -> str:
    path = tempfile.mkdtemp(prefix=f"job-{job_id[:8]}-{attempt}-", dir=base)
    os.chmod(path, 0o700)
    if user is not None:
        os.chown(path, user.uid, user.gid)
    return path


def write_script(*, workdir: str, runtime: str, source: str, user: ScriptUser | None) -> str:
    path = os.path.join(workdir, "script.py" if runtime == "python" else "script.sh")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(source)
    if user is not None:
        os.chown(path, user.uid, user.gid)
    return path


def start(
    *,
    runtime: str,
    path: str,
    workdir: str,
    env: dict[str, str],
    user: ScriptUser | None,
    python: str,
    fence_seconds: float,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the script under its supervisor. Returns the process and the write end of its
    pulse pipe: write a byte to it after every confirmed heartbeat (confirm()), close it when
    the job is over."""
    pulse_read, pulse_write = os.pipe()
    os.set_blocking(pulse_write, False)  # the heartbeat thread must never wait on a script
    argv = [
        python, "-I", "-c", SUPERVISOR, f"{fence_seconds:g}", str(pulse_read),
        *script_argv(runtime, path, python),
    ]  # fmt: skip
    extra: dict = {}
    if user is not None:
        extra = {"user": user.uid, "group": user.gid, "extra_groups": []}
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,  # its own process group: one killpg ends the tree
            close_fds=True,
            pass_fds=(pulse_read,),  # the supervisor's only inherited descriptor besides stdio
            umask=0o077,
            **extra,
        )
    except BaseException:
        os.close(pulse_write)
        raise
    finally:
        os.close(pulse_read)
    return proc, pulse_write


def confirm(pulse_write: int) -> None:
    """Tell a supervisor its job's claim was just confirmed (a heartbeat answered)."""
    try:
        os.write(pulse_write, b".")
    except OSError:  # the supervisor is gone, or its pipe is full (it is reading): fine
        pass


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a whole process group; False when nothing is left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # pgid reused by someone else's group: not ours to touch
        log_event(log, logging.WARNING, "killpg_denied", pgid=pgid)
        return False


def kill_tree(proc: subprocess.Popen, *, grace: float) -> None:
    """SIGTERM the group, give the script `grace` seconds, then SIGKILL whatever is left."""
    signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def remove_workdir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def script_python(*, configured: str | None, user: ScriptUser | None) -> str:
    """The interpreter scripts (and their supervisor) run with: AGENT_SCRIPT_PYTHON, else the
    runtime's own — unless the script user cannot run it (the project's virtualenv may lie in
    a folder that user cannot enter, e.g. under /root), then the system's python3."""
    candidates = [configured] if configured else [sys.executable]
    if not configured:
        system = shutil.which("python3", path=DEFAULT_PATH)
        if system and system not in candidates:
            candidates.append(system)
    if user is None:
        return candidates[0]
    for candidate in candidates:
        if _runs_as(user, candidate):
            return candidate
    raise ScriptUserError(
        f"the script user {user.name!r} cannot run {' or '.join(candidates)}: set "
        "AGENT_SCRIPT_PYTHON to an interpreter it can run"
    )


def _runs_as(user: ScriptUser, python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-I", "-c", "pass"],
            user=user.uid,
            group=user.gid,
            extra_groups=[],
            env={"PATH": DEFAULT_PATH},
            cwd="/",
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0
