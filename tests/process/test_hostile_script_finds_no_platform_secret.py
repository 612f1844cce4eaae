"""A hostile tenant script run through the real agent runtime finds none of the platform's
secrets (SPEC §7): not the agent's token, not another agent's, not DATABASE_URL, SECRET_KEY,
VAULT_ENCRYPTION_KEYS, CRON_SECRET or the broker's password, and no vault value its job did not
declare — once with everything running as root on one machine as `make run` does (the runtime
then runs scripts as the agent's own unprivileged user), once with the runtime itself a non-root
user (scripts then run as that user; PR_SET_DUMPABLE=0 keeps them out of the runtime).

The script (tests/process/hostile.py) dumps everything it can read — every /proc/*/environ,
cmdline, status, cwd and open file, its parents, its own environment and stdin, and the files
below every cwd it can resolve, the project folder, a make-run-like platform folder, /tmp, /etc,
/root, /home — and the test searches the dump. Positive controls: the dump holds the job's
declared secret and MIMIC_JOB_ID where the script legitimately sees them.

The runtime is started carelessly, with the test's whole environment (platform secrets
included) on top of its MIMIC_* variables: its own environment, read back from /proc, must
hold none of them (it re-executes itself with a clean one), and the job still succeeds.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from agents.dispatch import jobs_publish
from agents.models import JobStatus
from agents.runtime.environment import ALLOWED
from agents.runtime.process import default_user_name
from tests.process.helpers import (
    PLATFORM_SECRETS,
    ensure_system_user,
    make_agent,
    make_job,
    make_org,
    process_environ,
    runtime_env,
    wait_for_status,
)
from tests.process.hostile import (
    HOSTILE_SCRIPT,
    MIN_DUMP_CHARS,
    dump_sources,
    search_dump,
    telling_paths,
)
from vault.services import vault_set

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
RUNTIME_USER = "mimic-test-runtime"


@pytest.fixture
def platform_folder():
    """A folder laid out as `make run` leaves the project: var/ (0700) holding dev.env (0600)
    with the platform's secrets, beside world-readable code."""
    folder = Path(tempfile.mkdtemp(prefix="mimic-platform-"))
    folder.chmod(0o755)
    (folder / "manage.py").write_text("# code is readable; secrets are not\n")
    var = folder / "var"
    var.mkdir(mode=0o700)
    body = "".join(f"{name}={os.environ[name]}\n" for name in PLATFORM_SECRETS)
    (var / "dev.env").write_text(body)
    (var / "dev.env").chmod(0o600)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def control_plane_sibling(platform_folder):
    """A process like make run's web/worker/beat: the platform's whole environment, its cwd in
    the platform folder."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"],
        cwd=platform_folder,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    proc.kill()
    proc.wait()


def platform_needles(*tokens: str) -> dict[str, str]:
    needles = {name: os.environ[name] for name in ("DATABASE_URL", "SECRET_KEY", "CRON_SECRET")}
    for index, key in enumerate(os.environ["VAULT_ENCRYPTION_KEYS"].split(",")):
        needles[f"VAULT_ENCRYPTION_KEYS[{index}]"] = key.strip()
    redis_password = urlsplit(os.environ["REDIS_URL"]).password
    assert redis_password, "the test Redis must require a password (SPEC §7)"
    needles["the broker's password"] = redis_password
    for index, token in enumerate(tokens):
        needles[f"agent token #{index}"] = token
    return needles


def run_hostile_job(start_agent, drop_dir, roots, *, user=None, python=None, **env_extra):
    org, other_org = make_org(), make_org()
    agent = make_agent(org)
    declared = "declared-" + os.urandom(12).hex()
    undeclared = "undeclared-" + os.urandom(12).hex()
    theirs = "other-org-" + os.urandom(12).hex()
    vault_set(organization=org, key="PORTAL_PASSWORD", value=declared)
    vault_set(organization=org, key="ADMIN_PASSWORD", value=undeclared)
    vault_set(organization=other_org, key="PORTAL_PASSWORD", value=theirs)
    other_env = runtime_env(make_agent(other_org))  # another agent's live token

    env = runtime_env(agent, **env_extra)
    careless = {**os.environ, **env}  # a starter that passes its whole environment along
    process = start_agent(agent, env=careless, user=user, python=python)

    environ = process_environ(process.pid)
    assert not set(environ) & set(PLATFORM_SECRETS), sorted(environ)
    assert set(environ) <= ALLOWED, sorted(set(environ) - ALLOWED)
    assert environ["MIMIC_AGENT_TOKEN"] == env["MIMIC_AGENT_TOKEN"]

    job = make_job(
        agent,
        HOSTILE_SCRIPT,
        vault_keys=["PORTAL_PASSWORD"],
        variables={"dumpDir": str(drop_dir), "roots": [str(r) for r in roots]},
    )
    jobs_publish(jobs=[(job.id, agent.id)], now=timezone.now())
    job = wait_for_status(job, {JobStatus.SUCCEEDED, JobStatus.FAILED}, timeout=120)
    assert job.status == JobStatus.SUCCEEDED, (job.error_message, job.log)
    assert "HOSTILE SUMMARY" in job.log

    dump_path = drop_dir / f"hostile-{job.id}.txt"
    text = dump_path.read_text(encoding="utf-8", errors="replace")
    dump_path.unlink()  # it may hold whatever the test host exposes: do not keep it around
    assert len(text) >= MIN_DUMP_CHARS, f"the dump read almost nothing ({len(text)} chars)"
    sources = dump_sources(text)
    assert sum(source.startswith("/proc/") for source in sources) > 10, sources[:20]

    # Positive controls: what the script may see, it saw.
    seen = search_dump(text, {"declared": declared, "job id": str(job.id)})
    assert "self:stdin" in seen["declared"], seen
    assert "self:environ" in seen["job id"], seen

    leaks = search_dump(
        text,
        {
            **platform_needles(env["MIMIC_AGENT_TOKEN"], other_env["MIMIC_AGENT_TOKEN"]),
            "an undeclared vault value": undeclared,
            "another organization's vault value": theirs,
        },
    )
    assert not {name: where for name, where in leaks.items() if where}, leaks
    return agent, text


@pytest.mark.skipif(os.geteuid() != 0, reason="everything as root, as make run does: needs root")
def test_a_hostile_script_under_a_root_runtime_finds_no_platform_secret(
    start_agent, drop_dir, platform_folder, control_plane_sibling
):
    agent, text = run_hostile_job(
        start_agent, drop_dir, [ROOT, platform_folder], AGENT_SCRIPT_USER=None
    )
    try:
        # It ran as the agent's own unprivileged user, created by the runtime.
        identity = text.split("=== self:identity ===", 1)[1].split("===", 1)[0]
        assert (
            f"uid={pwd.getpwnam(default_user_name(str(agent.id))).pw_uid}"
            in identity.replace(" ", "")
            or str(pwd.getpwnam(default_user_name(str(agent.id))).pw_uid) in identity
        )
        paths = telling_paths(text)
        dev_env = str(platform_folder / "var" / "dev.env")
        assert paths.get(dev_env, ("DENIED",))[0] != "READABLE", paths.get(dev_env)
        sibling_environ = f"/proc/{control_plane_sibling.pid}/environ"
        assert paths.get(sibling_environ, ("DENIED",))[0] != "READABLE"
    finally:
        subprocess.run(["userdel", default_user_name(str(agent.id))], check=False)


def _system_python() -> str | None:
    """An interpreter an unprivileged user can run, of this Python's version (the project's
    own may lie under a folder only root can enter)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")


def test_a_hostile_script_under_a_non_root_runtime_finds_no_platform_secret(
    start_agent, drop_dir, platform_folder, control_plane_sibling
) -> None:
    user = python = None
    extra: dict[str, str | None] = {"AGENT_SCRIPT_USER": None}
    if os.geteuid() == 0:
        user = ensure_system_user(RUNTIME_USER)
        site = sysconfig.get_paths()["purelib"]
        pythonpath = extra["PYTHONPATH"] = os.pathsep.join([str(ROOT), site])
        python = next(
            (
                candidate
                for candidate in (sys.executable, _system_python())
                if candidate and _runs(user, candidate, pythonpath)
            ),
            None,
        )
        if python is None:
            pytest.skip(
                f"no interpreter that {RUNTIME_USER} can run with the project's packages "
                "(the project or its virtualenv is in a folder that user cannot enter)"
            )
    run_hostile_job(
        start_agent, drop_dir, [ROOT, platform_folder], user=user, python=python, **extra
    )


def _runs(user, python: str, pythonpath: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import celery, agents.runtime.worker"],
            user=user.pw_uid,
            group=user.pw_gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath},
            cwd="/",
            capture_output=True,
            check=False,
        )
    except OSError:  # that user cannot even execute it
        return False
    return done.returncode == 0
