"""requirements.txt is a complete lock of the production install (SPEC §13).

`make prod-smoke` is the real proof (a clean virtualenv from requirements.txt alone runs web,
worker, beat and an agent to a succeeded job); these are the fast guards beside it:
- every module the production processes import comes from a distribution pinned in
  requirements.txt (kombu's Redis transport imports `packaging`, which once was not, so a
  production install could not publish a job while the development install hid it);
- every pinned distribution's own requirements (with the extras requirements.in declares,
  `celery[redis]`) are pinned too, at versions they accept;
- the locks were compiled from the .in files as they are now, and the dev lock agrees with the
  production one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.txt"
DEV_LOCK = ROOT / "requirements-dev.txt"

# What web (gunicorn), worker and beat (Celery on its Redis transport and result backend) and an
# agent runtime load: Django with every app, view and admin, the Celery app and its tasks. Run
# with the modules of every distribution requirements.txt does not pin made unimportable (argv[1]),
# as they are in a production install: an optional import falls back, a needed one fails.
PRODUCTION_IMPORTS = """
import importlib, json, sys

BLOCKED = set(json.loads(sys.argv[1]))


class NotInTheProductionInstall:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not pinned in requirements.txt)", name=name)
        return None


sys.meta_path.insert(0, NotInTheProductionInstall())
import django
django.setup()
import config.urls, config.wsgi
from config.celery import app
app.loader.import_default_modules()
for name in (
    "kombu.transport.redis", "celery.backends.redis", "celery.apps.worker", "celery.apps.beat",
    "django_celery_beat.schedulers", "gunicorn.app.wsgiapp", "gunicorn.workers.sync",
    "agents.runtime.worker", "agents.runtime.jobs", "agents.runtime.heartbeat",
    "agents.runtime.process", "agents.runtime.client",
):
    importlib.import_module(name)
"""


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", line)
            assert match, f"{path.name}: not an exact pin: {line!r}"
            found[canonicalize_name(match[1])] = match[2]
    return found


def direct_requirements(path: Path) -> list[Requirement]:
    """The requirements of a .in file (its -r includes followed; -c constraints are not
    requirements)."""
    found = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-c"):
            continue
        if line.startswith("-r"):
            found += direct_requirements(path.parent / line[2:].strip())
        else:
            found.append(Requirement(line))
    return found


def test_every_module_the_production_processes_import_is_pinned():
    locked = pins(LOCK)
    blocked = sorted(
        module
        for module, dists in metadata.packages_distributions().items()
        if module not in sys.stdlib_module_names
        and not {canonicalize_name(dist) for dist in dists} & locked.keys()
    )
    assert "pytest" in blocked  # the development install's own tools are out
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PRODUCTION_IMPORTS, json.dumps(blocked)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"a production import needs an unpinned package:\n{done.stderr}"


def test_the_lock_holds_every_requirement_of_what_it_pins() -> None:
    locked = pins(LOCK)
    extras: dict[str, set[str]] = {
        canonicalize_name(r.name): set(r.extras)
        for r in direct_requirements(ROOT / "requirements.in")
    }
    problems = []
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset(extras.get(name, ()))) for name in locked]
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        dist = metadata.distribution(name)
        if dist.version != locked[name]:
            pytest.fail(
                f"{name} {dist.version} is installed, {locked[name]} pinned: bin/ensure-venv"
            )
        for text in dist.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in {"", *wanted}):
                continue
            needed = canonicalize_name(requirement.name)
            if needed not in locked:
                problems.append(f"{name} needs {requirement}: not pinned")
            elif not requirement.specifier.contains(locked[needed], prereleases=True):
                problems.append(f"{name} needs {requirement}: {locked[needed]} pinned")
            else:
                todo.append((needed, frozenset(requirement.extras)))
    assert not problems, problems


@pytest.mark.parametrize(
    ("source", "lock"),
    [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")],
)
def test_the_locks_were_compiled_from_the_in_files(source, lock):
    locked = pins(ROOT / lock)
    stale = [
        str(r)
        for r in direct_requirements(ROOT / source)
        if canonicalize_name(r.name) not in locked
        or not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not stale, f"{lock} is stale for {stale}: recompile it (README, Production install)"


def test_the_dev_lock_has_the_production_versions():
    production, dev = pins(LOCK), pins(DEV_LOCK)
    differ = {n: (v, dev.get(n)) for n, v in production.items() if dev.get(n) != v}
    assert not differ, f"requirements-dev.txt differs from requirements.txt: {differ}"
